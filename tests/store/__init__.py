"""The store: migrations, retries, claims, store faults."""
