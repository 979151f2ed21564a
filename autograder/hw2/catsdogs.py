"""HW2 items: catsdogs (being written)."""
ITEMS: list = []
