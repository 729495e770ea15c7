"""Ankommen core: content store, search, dialogue. Never imports ``telegram``."""

__version__ = "0.1.0"
