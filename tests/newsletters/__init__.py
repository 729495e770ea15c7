"""Newsletters: drafts, issues, the outbox, the coordinators' desk."""
