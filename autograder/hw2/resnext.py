"""HW2 items: resnext (being written)."""
ITEMS: list = []
