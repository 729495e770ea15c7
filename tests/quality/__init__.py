"""Across the code: layers, hostile input, properties, privacy of logs, languages, tooling, the README."""
