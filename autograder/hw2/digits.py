"""HW2 items: digits (being written)."""
ITEMS: list = []
