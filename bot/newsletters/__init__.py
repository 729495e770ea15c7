"""Newsletters 1.24 and 1.32: subscriptions, issues, the coordinators' desk, the outbox."""
