"""The content in data/: loading, checking, importing."""
