"""Placeholder: filled in by its part of HW1."""
ITEMS = []
