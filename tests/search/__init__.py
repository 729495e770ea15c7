"""Text normalisation, language detection and the search index."""
