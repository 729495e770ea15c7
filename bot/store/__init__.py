"""The store's machinery: engines, migrations, retries, claims, locks, the shared throttle."""
