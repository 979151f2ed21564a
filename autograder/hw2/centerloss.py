"""HW2 items: centerloss (being written)."""
ITEMS: list = []
