"""Builds and runs the PTB ``Application``: handlers, flood control, error handler, polling or webhook.

``run_bot`` is called by ``ankommen run`` (the CLI is the composition root) when
``TELEGRAM_BOT_TOKEN`` is set:

* long polling by default, by the one instance that holds the polling lock (``bot.store.locks``):
  other instances on the same store stand by and take over when it stops;
* webhook mode when ``WEBHOOK_URL`` is set: our webhook server (``handlers/webhook.py``) listens on
  ``WEBHOOK_LISTEN:WEBHOOK_PORT`` at the URL's path, checks Telegram's
  ``X-Telegram-Bot-Api-Secret-Token`` header against ``WEBHOOK_SECRET`` before it reads a body
  (when it is unset, one is derived from the token, the same on every instance:
  ``derived_webhook_secret``), and reads at most 1 MiB of body;
* ``TELEGRAM_API_BASE_URL`` is PTB's ``base_url`` (the token is appended), so any Bot
  API-compatible server works;
* SIGINT/SIGTERM stop gracefully: polling stops, running handlers finish, newsletter requests in
  flight finish and are recorded, the store is closed;
* a JobQueue tick (``handlers/newsletter.py``) starts due newsletter issues and delivers them.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import logging
import signal
from urllib.parse import urlsplit

from telegram import Update
from telegram.error import NetworkError, TelegramError, TimedOut
from telegram.ext import (
    Application,
    ApplicationBuilder,
    CallbackQueryHandler,
    MessageHandler,
    TypeHandler,
    filters,
)
from telegram.request import BaseRequest

from bot.store.locks import Leadership
from handlers.bots import application_bot
from handlers.context import CONTEXT_TYPES
from handlers.frontend import GATE_GROUP, SCREEN_GROUP, TelegramFrontend
from handlers.newsletter import NewsletterService
from handlers.ordering import PerChatUpdateProcessor
from handlers.sender import BotSender
from handlers.webhook import serve_webhook, stop_application

log = logging.getLogger(__name__)


def build_application(
    frontend: TelegramFrontend,
    token: str,
    *,
    base_url: str,
    flood_limit: float = 30.0,
    request: BaseRequest | None = None,
    get_updates_request: BaseRequest | None = None,
    post_shutdown=None,
    concurrency: int = 4,
    status_loop=None,
    tick_interval: float = 60.0,
    newsletters=None,
) -> Application:
    """A PTB ``Application`` for ``frontend``; ``base_url`` is PTB's (the token is appended).

    Up to ``concurrency`` updates are handled at once, in order per chat (``PerChatUpdateProcessor``).
    ``flood_limit`` is the overall messages per second (Telegram's documented 30); 0 turns flood
    control (``handlers/floodcontrol.py``: a 429 pauses its chat only) off (benchmarks against a loopback server that enforces nothing).
    ``request`` (default: ``RetryingRequest``, the Bot API fault policy of ``handlers/request.py``)
    carries every call but ``getUpdates``, which PTB's polling loop retries by itself.
    """
    bot = application_bot(
        token, base_url, flood_limit=flood_limit, request=request, get_updates_request=get_updates_request
    )
    builder: ApplicationBuilder = (
        ApplicationBuilder()
        .bot(bot)
        .context_types(CONTEXT_TYPES)
        .concurrent_updates(PerChatUpdateProcessor(concurrency))
    )

    async def post_init(app: Application) -> None:
        frontend.menus.schedule(app)  # in the background, retried: the menu is cosmetic
        try:  # staff menus queued for removal (a removed or moved staff link); the tick retries
            await frontend.reset_menus(app.bot)
        except TelegramError as exc:
            log.warning("removing queued staff menus failed: %s", type(exc).__name__)

    builder = builder.post_init(post_init)
    if post_shutdown is not None:
        builder = builder.post_shutdown(post_shutdown)
    app = builder.build()
    register(app, frontend, status_loop=status_loop, tick_interval=tick_interval, newsletters=newsletters)
    return app


def register(
    app: Application, frontend: TelegramFrontend, *, status_loop=None, tick_interval=60.0, newsletters=None
):
    """Every handler and job of the bot, in one place, in the order they run.

    Handler groups run in order: ``screen`` drops forged updates, ``gate`` applies the per-user
    limit before any work, then one callback for messages and buttons alike hands the update to
    the core router (``bot.chat.router``), which decides where it goes. The jobs read their work
    from the store, so several instances share it (``post_init`` sets the command menus).
    """
    app.add_handler(TypeHandler(Update, frontend.screen), group=SCREEN_GROUP)
    app.add_handler(TypeHandler(Update, frontend.gate), group=GATE_GROUP)
    app.add_handler(CallbackQueryHandler(frontend.on_update))
    app.add_handler(MessageHandler(filters.ALL, frontend.on_update))
    app.add_error_handler(frontend.on_error)
    if status_loop is not None:  # status requests, reminders, escalations; staff menus to remove
        app.job_queue.run_repeating(
            _status_tick(status_loop, status_loop.desk.clock, frontend), interval=tick_interval, first=tick_interval, name="status-loop",
            job_kwargs={"max_instances": 1, "coalesce": True, "misfire_grace_time": None},
        )  # fmt: skip
    if newsletters is not None:  # due issues start; the outbox delivers
        app.job_queue.run_repeating(
            newsletters.tick, interval=newsletters.tick_seconds, first=1.0, name="newsletter-tick"
        )


def _status_tick(loop, clock, frontend=None):
    """The JobQueue job: one status-loop tick (prompts, reminders, escalations) per interval, and
    the staff command menus queued for removal (e.g. by ``staff remove`` without a token). Both
    do their store work in threads, so a slow or locked store never holds up the bot's updates."""

    async def tick(context) -> None:
        try:
            await loop.tick(clock(), BotSender(context.bot))
            if frontend is not None:
                await frontend.reset_menus(context.bot)
        except Exception:  # noqa: BLE001 - the next tick tries again; the rows say what is left
            log.exception("the status tick failed")

    return tick


def assemble(
    core,
    settings,
    *,
    desk=None,
    status_tick: float = 60.0,
    newsletter_tick: float | None = None,
    request=None,
) -> Application:
    """The whole bot on one ``Application``, every handler and job registered here or in
    ``build_application``: the core router (residents, the staff desk, /report, the coordinators'
    /newsletter), the status loop tick, the outbox tick. ``run_bot`` serves it; the end-to-end
    tests run exactly this wiring."""
    desk = desk or core.staff_desk()
    conversation = core.conversation(desk=desk)
    newsletters = NewsletterService(
        core,
        settings,
        conversation.dialogue,
        **({"tick_seconds": newsletter_tick} if newsletter_tick else {}),
    )
    frontend = TelegramFrontend(
        conversation=conversation,
        rate_limit_per_minute=settings.rate_limit_per_minute,
        alert_chat_id=settings.alert_chat_id,
        answer_in_thread=settings.answers_in_thread,
    )

    async def post_shutdown(_app: Application) -> None:
        await newsletters.shutdown()
        core.engine.dispose()

    app = build_application(
        frontend,
        settings.telegram_bot_token,
        base_url=settings.telegram_api_base_url,
        flood_limit=settings.flood_limit,
        post_shutdown=post_shutdown,
        status_loop=core.status_loop(desk),
        tick_interval=status_tick,
        request=request,
        newsletters=newsletters,
    )
    app.bot_data.update(frontend=frontend, newsletters=newsletters)
    return app


async def poll_while_leading(app: Application, leadership: Leadership, *, check_seconds: float = 5.0) -> None:
    """Serve ``app`` until SIGINT/SIGTERM, long-polling only while this instance holds the lock.

    Every instance runs its JobQueue (status prompts, newsletters: their rows are claimed, so
    instances share them); only the holder of ``bot.store.locks.Leadership`` polls. A standby tries
    the lock every ``check_seconds`` and starts polling when the holder is gone; a holder that
    lost its lock (its store connection dropped) stops polling and stands by. The sequence of
    PTB calls is ``Application.run_polling``'s, with the updater started and stopped as the lock
    comes and goes.
    """
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await _initialize(app, stop)
    if stop.is_set():
        await app.shutdown()
        return
    if app.post_init:
        await app.post_init(app)
    await app.start()

    def polling_error(exc: TelegramError) -> None:
        app.create_task(app.process_error(error=exc, update=None))

    updater = app.updater
    try:
        while not stop.is_set():
            if updater.running:
                if not await asyncio.to_thread(leadership.held):
                    await updater.stop()
            elif await asyncio.to_thread(leadership.acquire):
                log.info("this instance holds the polling lock: serving Telegram by long polling")
                await updater.start_polling(allowed_updates=Update.ALL_TYPES, error_callback=polling_error)
            elif not leadership.leading:
                log.debug("another instance polls; standing by")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), check_seconds)
    finally:
        if updater.running:
            await updater.stop()
        leadership.release()
        await stop_application(app)


async def _initialize(app: Application, stop: asyncio.Event) -> None:
    """``app.initialize()`` (it asks the Bot API ``getMe``), retried with capped backoff while the
    server cannot be reached, until it answers or a stop signal comes."""
    delay = 1.0
    while not stop.is_set():
        try:
            await app.initialize()
            return
        except (NetworkError, TimedOut) as exc:
            log.warning(
                "the Bot API cannot be reached (%s); trying again in %.0f s", type(exc).__name__, delay
            )
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), delay)
            delay = min(delay * 2, 30.0)


def derived_webhook_secret(token: str) -> str:
    """The webhook secret when ``WEBHOOK_SECRET`` is unset: an HMAC of the token, so that every
    instance behind a load balancer registers and checks the same secret without configuration,
    and nobody without the token can compute it."""
    return hmac.new(token.encode(), b"ankommen-webhook-secret", hashlib.sha256).hexdigest()


def run_bot(core, settings) -> int:
    """Serve Telegram until a stop signal. ``core`` is a ``bot.cli.wiring.Core``."""
    app = assemble(core, settings)
    if settings.webhook_url:
        secret = settings.webhook_secret or derived_webhook_secret(settings.telegram_bot_token)
        path = urlsplit(settings.webhook_url).path.lstrip("/")
        log.info(
            "serving Telegram by webhook on %s:%s/%s", settings.webhook_listen, settings.webhook_port, path
        )
        asyncio.run(
            serve_webhook(
                app,
                listen=settings.webhook_listen,
                port=settings.webhook_port,
                url_path=path,
                webhook_url=settings.webhook_url,
                secret=secret,
                initialize=_initialize,
            )
        )
    else:
        leadership = Leadership(core.engine, settings.telegram_bot_token)
        asyncio.run(poll_while_leading(app, leadership, check_seconds=settings.leader_check_seconds))
    log.info("stopped")
    return 0
