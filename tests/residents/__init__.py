"""The residents' conversation, its answers and what it learns."""
