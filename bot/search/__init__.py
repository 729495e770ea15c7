"""Search: text normalisation, stop words, language detection, the index."""
