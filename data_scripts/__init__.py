"""Data sets of the course: real downloaders and offline sources (see README.md)."""
