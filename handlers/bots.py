"""The three kinds of ``Bot`` Ankommen builds, in one place, so that each gets the same base URL,
file URL and fault policy (``handlers/request.py``):

* ``application_bot``: the running ``Application``'s bot: flood control per chat
  (``handlers/floodcontrol.py``), retries of what certainly did not arrive, and polling that
  survives an update PTB cannot read (``handlers/updates.py``);
* ``outbox_bot``: the outbox's own plain bot: no rate limiter (the outbox paces itself) and no
  retries (it decides per delivery), with a connection for every request in flight;
* ``cli_bot``: for commands that send outside the ``Application`` (``reminders tick``,
  ``staff remove``, ``staff invite`` asking for the bot's name): the bot's flood limit and retries.

``TELEGRAM_API_BASE_URL`` is PTB's ``base_url`` (the token is appended), so any Bot API-compatible
server works, a self-hosted one included; its file URL is derived from it the same way for all.
"""

from __future__ import annotations

from telegram import Bot
from telegram.ext import ExtBot
from telegram.request import BaseRequest, HTTPXRequest

from bot.newsletters.outbox import CONCURRENCY
from handlers.floodcontrol import ChatFloodLimiter
from handlers.request import RetryingRequest
from handlers.updates import ReadableUpdatesBot

REQUEST_TIMEOUT = 10.0  # seconds: the outbox's read and write timeouts


def file_url(base_url: str) -> dict[str, str]:
    """``base_file_url`` for a ``base_url`` of the usual shape (``…/bot``); else PTB's default."""
    base = base_url.rstrip("/")
    return {"base_file_url": base[: -len("/bot")] + "/file/bot"} if base.endswith("/bot") else {}


def _flood(limit: float) -> ChatFloodLimiter | None:
    return ChatFloodLimiter(overall_max_rate=limit, max_retries=3) if limit > 0 else None


def application_bot(
    token: str,
    base_url: str,
    *,
    flood_limit: float,
    request: BaseRequest | None = None,
    get_updates_request: BaseRequest | None = None,
) -> ReadableUpdatesBot:
    return ReadableUpdatesBot(
        token,
        base_url=base_url,
        **file_url(base_url),
        request=request if request is not None else RetryingRequest(),
        get_updates_request=get_updates_request if get_updates_request is not None else HTTPXRequest(),
        rate_limiter=_flood(flood_limit),
    )


def outbox_bot(
    token: str, base_url: str, *, concurrency: int = CONCURRENCY, timeout: float = REQUEST_TIMEOUT
) -> Bot:
    """A plain ``Bot`` for the outbox: no rate limiter, no retries, a pool for every request."""
    request = RetryingRequest(
        attempts=1,
        connection_pool_size=concurrency + 4,
        read_timeout=timeout,
        write_timeout=timeout,
        connect_timeout=5.0,
        pool_timeout=5.0,
    )
    return Bot(token, base_url=base_url, request=request, **file_url(base_url))


def cli_bot(settings) -> ExtBot:
    """A bot for sending outside the running ``Application``: its base URL and flood limit."""
    return ExtBot(
        settings.telegram_bot_token,
        base_url=settings.telegram_api_base_url,
        **file_url(settings.telegram_api_base_url),
        rate_limiter=_flood(settings.flood_limit),
        request=RetryingRequest(),
    )


async def bot_username(settings) -> str:
    """The bot's username: ``TELEGRAM_BOT_USERNAME``, else asked from the Bot API (getMe)."""
    if settings.bot_username:
        return settings.bot_username
    async with cli_bot(settings) as bot:
        return bot.username
