"""HW2 items: resnet (being written)."""
ITEMS: list = []
