"""The production request class (``handlers.request.RetryingRequest``) sized for tests."""

from __future__ import annotations

from handlers.request import RetryingRequest


def fast_request(**kw) -> RetryingRequest:
    """The production request class with test-sized backoff and timeouts."""
    return RetryingRequest(base_delay=0.01, max_delay=0.05, read_timeout=0.5, **kw)
