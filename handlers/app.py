"""Builds and runs the PTB ``Application``: handlers, flood control, error handler, polling or webhook.

``run_bot`` is called by ``ankommen run`` (the CLI is the composition root) when
``TELEGRAM_BOT_TOKEN`` is set:

* long polling by default;
* webhook mode when ``WEBHOOK_URL`` is set: PTB's webhook server listens on
  ``WEBHOOK_LISTEN:WEBHOOK_PORT`` at the URL's path, and Telegram's ``X-Telegram-Bot-Api-Secret-Token``
  header is checked on every request against ``WEBHOOK_SECRET`` (a random one is made at start when
  it is unset; set it when several instances share one webhook);
* ``TELEGRAM_API_BASE_URL`` is PTB's ``base_url`` (the token is appended), so any Bot
  API-compatible server works;
* SIGINT/SIGTERM stop gracefully: polling stops, running handlers finish, newsletter requests in
  flight finish and are recorded, the store is closed;
* a JobQueue tick (``handlers/newsletter.py``) starts due newsletter issues and delivers them.
"""

from __future__ import annotations

import logging
import secrets
from urllib.parse import urlsplit

from telegram import Update
from telegram.ext import AIORateLimiter, Application, ApplicationBuilder
from telegram.request import BaseRequest

from bot.models import utcnow
from handlers.frontend import TelegramFrontend
from handlers.newsletter import NewsletterService
from handlers.ordering import PerChatUpdateProcessor
from handlers.request import RetryingRequest
from handlers.sender import BotSender

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
) -> Application:
    """A PTB ``Application`` for ``frontend``; ``base_url`` is PTB's (the token is appended).

    Up to ``concurrency`` updates are handled at once, in order per chat (``PerChatUpdateProcessor``).
    ``flood_limit`` is the overall messages per second (Telegram's documented 30); 0 turns the
    ``AIORateLimiter`` off (benchmarks against a loopback server that enforces nothing).
    ``request`` (default: ``RetryingRequest``, the Bot API fault policy of ``handlers/request.py``)
    carries every call but ``getUpdates``, which PTB's polling loop retries by itself.
    """
    builder: ApplicationBuilder = (
        ApplicationBuilder()
        .token(token)
        .base_url(base_url)
        .concurrent_updates(PerChatUpdateProcessor(concurrency))
    )
    if base_url.rstrip("/").endswith("/bot"):
        builder = builder.base_file_url(base_url.rstrip("/")[: -len("/bot")] + "/file/bot")
    if flood_limit > 0:
        builder = builder.rate_limiter(AIORateLimiter(overall_max_rate=flood_limit, max_retries=3))
    builder = builder.request(request if request is not None else RetryingRequest())
    if get_updates_request is not None:
        builder = builder.get_updates_request(get_updates_request)

    async def post_init(app: Application) -> None:
        await frontend.set_commands(app)

    builder = builder.post_init(post_init)
    if post_shutdown is not None:
        builder = builder.post_shutdown(post_shutdown)
    app = builder.build()
    frontend.install(app)
    if status_loop is not None:
        app.job_queue.run_repeating(
            _status_tick(status_loop), interval=tick_interval, first=tick_interval, name="status-loop",
            job_kwargs={"max_instances": 1, "coalesce": True, "misfire_grace_time": None},
        )  # fmt: skip
    return app


def _status_tick(loop):
    """The JobQueue job: one status-loop tick (prompts, reminders, escalations) per interval."""

    async def tick(context) -> None:
        try:
            await loop.tick(utcnow(), BotSender(context.bot))
        except Exception:  # noqa: BLE001 - the next tick tries again; the rows say what is left
            log.exception("the status tick failed")

    return tick


def report_files(core) -> tuple[bytes, bytes]:
    """The HTML report (chart embedded) and the chart alone, for /report."""
    from bot import report

    data = report.for_core(core, now=utcnow())
    png = report.chart_png(data, core.translations)
    return report.render_html(data, core.translations, png).encode(), png


def assemble(core, settings, *, desk=None, status_tick: float = 60.0, request=None) -> Application:
    """The whole bot on one ``Application``: residents' dialogue, the staff desk with its status
    loop tick, /report, and the newsletters (coordinators' /newsletter and the outbox tick).
    ``run_bot`` serves it; the end-to-end tests run exactly this wiring."""
    desk = desk or core.staff_desk()
    frontend = TelegramFrontend(
        core.dialogue(),
        rate_limit_per_minute=settings.rate_limit_per_minute,
        alert_chat_id=settings.alert_chat_id,
        desk=desk,
        report=lambda: report_files(core),
    )
    newsletters = NewsletterService(core, settings, frontend)

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
    )
    newsletters.install(app)  # /newsletter for coordinators, the outbox tick
    return app


def run_bot(core, settings) -> int:
    """Serve Telegram until a stop signal. ``core`` is a ``bot.services.Core``."""
    app = assemble(core, settings)
    if settings.webhook_url:
        secret = settings.webhook_secret or secrets.token_urlsafe(32)
        path = urlsplit(settings.webhook_url).path.lstrip("/")
        log.info(
            "serving Telegram by webhook on %s:%s/%s", settings.webhook_listen, settings.webhook_port, path
        )
        app.run_webhook(
            listen=settings.webhook_listen,
            port=settings.webhook_port,
            url_path=path,
            webhook_url=settings.webhook_url,
            secret_token=secret,
            allowed_updates=Update.ALL_TYPES,
        )
    else:
        log.info("serving Telegram by long polling")
        app.run_polling(allowed_updates=Update.ALL_TYPES)
    log.info("stopped")
    return 0
