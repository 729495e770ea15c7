"""Newsletters in the Telegram layer: ``/newsletter`` for coordinators, the outbox's own ``Bot``,
and the JobQueue tick that starts due issues and delivers.

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

from telegram import Bot, Update
from telegram.constants import ChatType
from telegram.ext import (
    Application,
    ApplicationHandlerStop,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    filters,
)

from bot.chat.markup import plain_text
from bot.newsletters.desk import NewsletterDesk
from bot.newsletters.issues import promote_due
from bot.newsletters.outbox import Outbox, issue_renderer
from bot.newsletters.outbox_store import OutboxStore
from handlers.frontend import TelegramFrontend
from handlers.request import RetryingRequest
from handlers.sender import BotSender

log = logging.getLogger(__name__)

TICK_SECONDS = 5.0
CONCURRENCY = 16
REQUEST_TIMEOUT = 10.0


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
    kwargs = {}
    if base_url.rstrip("/").endswith("/bot"):
        kwargs["base_file_url"] = base_url.rstrip("/")[: -len("/bot")] + "/file/bot"
    return Bot(token, base_url=base_url, request=request, **kwargs)


class NewsletterService:
    """Wires the coordinator desk and the outbox into a PTB ``Application``."""

    def __init__(self, core, settings, frontend: TelegramFrontend, *, tick_seconds: float = TICK_SECONDS):
        self.engine = core.engine
        self.settings = settings
        self.frontend = frontend
        dialogue = frontend.dialogue
        self.desk = NewsletterDesk(
            core.engine,
            dialogue,
            missing_language=settings.newsletter_missing_language,
            timezone=settings.timezone,
        )
        self.bot = outbox_bot(settings.telegram_bot_token, settings.telegram_api_base_url)
        self.outbox = Outbox(
            core.engine,
            BotSender(self.bot),
            issue_renderer(dialogue),
            rate=settings.newsletter_rate,
            concurrency=CONCURRENCY,
            lease=settings.newsletter_lease,
        )
        self.tick_seconds = tick_seconds
        self._task: asyncio.Task | None = None
        self._stop = asyncio.Event()
        self._bot_ready = False

    def install(self, app: Application) -> None:
        private = filters.ChatType.PRIVATE
        app.add_handler(CommandHandler("newsletter", self.on_command, filters=private), group=-1)
        app.add_handler(CallbackQueryHandler(self.on_button, pattern=r"^W:"), group=-1)
        app.add_handler(MessageHandler(private & filters.TEXT & ~filters.COMMAND, self.on_text), group=-1)
        app.job_queue.run_repeating(self.tick, interval=self.tick_seconds, first=1.0, name="newsletter-tick")

    # -- coordinators ----------------------------------------------------------------------------
    async def on_command(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """/newsletter: compose (coordinators), or one line saying it is not allowed."""
        chat = update.effective_chat
        replies = await asyncio.to_thread(self.desk.command, chat.id)
        await self.frontend.send(context.bot, chat.id, replies)
        raise ApplicationHandlerStop

    async def on_button(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """A W: button: pick a newsletter, send or discard an issue. Only in the coordinator's
        private chat, pressed by them: anywhere else it is refused with a toast."""
        query = update.callback_query
        chat = update.effective_chat
        presser = query.from_user.id
        chat_id = chat.id if chat else presser
        data = query.data if isinstance(query.data, str) else ""
        if chat_id != presser or (chat is not None and chat.type != ChatType.PRIVATE):
            replies = await asyncio.to_thread(self.desk.refuse, presser, toast=True)
        else:
            replies = await asyncio.to_thread(self.desk.button, chat_id, data)
        toast = next((r for r in replies if r.toast), None)
        await query.answer(plain_text(toast.html)[:200] if toast else None)
        await self.frontend.send(context.bot, chat_id, [r for r in replies if not r.toast])
        raise ApplicationHandlerStop

    async def on_text(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """The issue text of a coordinator who is composing; everyone else goes on to the dialogue."""
        chat = update.effective_chat
        staff = self.frontend.desk
        if update.edited_message is not None or (staff is not None and not staff.is_staff_chat(chat.id)):
            return  # residents' messages go on without a store read (staff chats are cached)
        if not await asyncio.to_thread(self.desk.is_composing, chat.id):
            return
        replies = await asyncio.to_thread(self.desk.text, chat.id, update.effective_message.text or "")
        await self.frontend.send(context.bot, chat.id, replies)
        raise ApplicationHandlerStop

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
            counts = await self.outbox.run(stop=self._stop)
            if counts:
                log.info("newsletter delivery round: %s", dict(counts))
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
