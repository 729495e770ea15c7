"""Newsletters in the Telegram layer: the outbox's own ``Bot`` and the JobQueue tick that starts
due issues and delivers. (``/newsletter`` and its buttons reach the coordinators' desk through
the core router, like every other update: ``handlers/frontend.py``.)

The running ``Application`` has PTB's ``AIORateLimiter``, which retries 429s by itself. The outbox
must own its rate and its 429 handling (``bot/newsletters/outbox.py``), so it sends through a separate plain
``Bot`` without a rate limiter, with a connection pool as large as its concurrency (a request
never waits for a connection, so a pool timeout never turns a message into an unknown one). Its
requests are classified by ``handlers/request.py`` but not retried there (``attempts=1``): a
message that certainly did not reach Telegram goes back to ``pending`` and the outbox pauses
(``handlers/sender.py``), one that may have is ``unknown``.
"""

from __future__ import annotations

import asyncio
import logging

from telegram.ext import (
    ContextTypes,
)

from bot.newsletters.issues import promote_due
from bot.newsletters.outbox_store import OutboxStore
from handlers.bots import outbox_bot
from handlers.sender import BotSender

log = logging.getLogger(__name__)

TICK_SECONDS = 5.0


class NewsletterService:
    """The outbox and its tick, for one ``Application``."""

    def __init__(self, core, settings, dialogue, *, tick_seconds: float = TICK_SECONDS):
        self.engine = core.engine
        self.settings = settings
        self.bot = outbox_bot(settings.telegram_bot_token, settings.telegram_api_base_url)
        self.outbox = core.outbox(BotSender(self.bot), dialogue)
        self.tick_seconds = tick_seconds
        self._task: asyncio.Task | None = None
        self._stop = asyncio.Event()
        self._bot_ready = False

    # -- delivery ------------------------------------------------------------------------------
    async def tick(self, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Start due issues (or hold overdue ones) and deliver in the background."""
        try:
            due = await asyncio.to_thread(
                promote_due,
                self.engine,
                hold_hours=self.settings.newsletter_hold_hours,
                missing_language=self.settings.newsletter_missing_language,
            )
            for issue_id in due.started:
                log.info("newsletter issue %s is due: sending", issue_id)
            for issue_id in due.held:
                log.warning("newsletter issue %s is overdue: held until someone sends it", issue_id)
            if self._task is not None and not self._task.done():
                return
            store: OutboxStore = self.outbox.store
            if not await asyncio.to_thread(store.open_count):
                return
            if not self._bot_ready:
                await self.bot.initialize()
                self._bot_ready = True
            self._task = asyncio.create_task(self._deliver())
        except Exception as exc:  # noqa: BLE001 - the next tick tries again
            log.error("newsletter tick failed: %s", type(exc).__name__, exc_info=exc)

    async def _deliver(self) -> None:
        try:
            # Until the issues are done: while another instance's rows are open (it may have
            # been killed), this one recovers them once their lease expires and sends them.
            counts = await self.outbox.run(until_done=True, stop=self._stop)
            if counts:
                log.info(
                    "newsletter delivery round: %s; budget slots %s; at most %d rows in flight",
                    dict(counts), self.outbox.budget.stats(), self.outbox.most_unrecorded,
                )  # fmt: skip
        except Exception as exc:  # noqa: BLE001
            log.error("newsletter delivery failed: %s", type(exc).__name__, exc_info=exc)

    async def shutdown(self) -> None:
        """Stop delivering (requests in flight finish and are recorded), then close the Bot."""
        self._stop.set()
        if self._task is not None:
            await asyncio.gather(self._task, return_exceptions=True)
        if self._bot_ready:
            await self.bot.shutdown()
            self._bot_ready = False
