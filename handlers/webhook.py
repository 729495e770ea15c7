"""Webhook mode: Telegram posts each update to a small tornado server of ours.

PTB's own webhook server (``Application.run_webhook``) reads a request's whole body (up to
tornado's default of 100 MB) before it looks at the secret header: eight parallel posts of 90 MB
took the bot from 119 to 730 MB of memory, and anyone who can reach the port can send them. This
server, in the same sequence of PTB calls as ``run_webhook``:

* checks ``X-Telegram-Bot-Api-Secret-Token`` (in constant time) and the content type as soon as
  the request's headers have arrived, **before any byte of the body is read**: a request without
  the right secret is answered 403 and its body is never read;
* caps the body at ``MAX_BODY`` (1 MiB; Telegram's updates are a few kB): a longer
  ``Content-Length`` is refused before the body is read (the connection is closed), and a
  chunked body is cut off as soon as it passes the cap (413);
* answers only ``POST`` at the webhook's path;
* skips an update PTB cannot read, logged by its id only (never its contents, which hold message
  text), and answers 200 so that Telegram does not send it again. PTB's server logged the whole
  update at CRITICAL.

A reverse proxy in front (TLS) should cap the body too (nginx ``client_max_body_size 1m``), and
limit connections per client: what reaches this process is bounded, but it still has to accept
the connections.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import json
import logging
import signal
from http import HTTPStatus

import tornado.web
from telegram import Update
from telegram.error import BadRequest, Forbidden, InvalidToken, TelegramError
from telegram.ext import Application
from tornado.httpserver import HTTPServer

from bot.store import backoff

log = logging.getLogger(__name__)

MAX_BODY = 1024 * 1024  # bytes: Telegram's updates are a few kB
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"


@tornado.web.stream_request_body
class UpdateHandler(tornado.web.RequestHandler):
    SUPPORTED_METHODS = ("POST",)  # type: ignore[assignment]

    def initialize(self, app: Application, secret: str, max_body: int) -> None:
        self.app = app
        self.secret = secret.encode()
        self.max_body = max_body
        self._chunks: list[bytes] = []
        self._size = 0

    def prepare(self) -> None:
        """Runs when the headers have arrived, before the body is read."""
        token = self.request.headers.get(SECRET_HEADER, "").encode("latin-1", "replace")
        if not hmac.compare_digest(token, self.secret):
            raise tornado.web.HTTPError(HTTPStatus.FORBIDDEN)
        ctype = self.request.headers.get("Content-Type", "").split(";", 1)[0].strip().lower()
        if ctype != "application/json":
            raise tornado.web.HTTPError(HTTPStatus.FORBIDDEN)
        self.request.connection.set_max_body_size(self.max_body)

    def data_received(self, chunk: bytes) -> None:
        self._size += len(chunk)
        if self._size > self.max_body:
            raise tornado.web.HTTPError(HTTPStatus.REQUEST_ENTITY_TOO_LARGE)
        self._chunks.append(chunk)

    async def post(self) -> None:
        try:
            data = json.loads(b"".join(self._chunks))
        except (ValueError, UnicodeDecodeError):
            raise tornado.web.HTTPError(HTTPStatus.BAD_REQUEST) from None
        self._chunks = []
        update_id = data.get("update_id") if isinstance(data, dict) else None
        try:
            update = Update.de_json(data, self.app.bot)
        except Exception as exc:  # noqa: BLE001 - anything PTB cannot read is skipped
            log.warning("update %s could not be read and is skipped (%s)", update_id, type(exc).__name__)
            update = None
        if update is not None:
            self.app.bot.insert_callback_data(update)
            await self.app.update_queue.put(update)
        self.set_status(HTTPStatus.OK)

    def set_default_headers(self) -> None:
        self.set_header("Content-Type", 'application/json; charset="utf-8"')

    def log_exception(self, typ, value, tb) -> None:  # no request contents in the log
        log.debug("webhook request refused: %s", type(value).__name__ if value else typ)


class WebhookApp(tornado.web.Application):
    def __init__(self, path: str, app: Application, secret: str, max_body: int):
        route = "/" + path.strip("/")
        args = {"app": app, "secret": secret, "max_body": max_body}
        super().__init__([(rf"{route}/?", UpdateHandler, args)])

    def log_request(self, handler) -> None:  # our own logging: no URLs, no headers
        pass


async def serve_webhook(
    app: Application,
    *,
    listen: str,
    port: int,
    url_path: str,
    webhook_url: str,
    secret: str,
    max_body: int = MAX_BODY,
    initialize=None,
) -> None:
    """Serve ``app`` by webhook until SIGINT/SIGTERM: initialize, ``post_init``, listen,
    ``setWebhook`` (retried with backoff while the Bot API cannot be reached), start; on a stop
    signal the server stops, running handlers finish, and the ``Application`` shuts down."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    if initialize is not None:
        await initialize(app, stop)
    else:
        await app.initialize()
    if stop.is_set():
        await app.shutdown()
        return
    server = HTTPServer(
        WebhookApp(url_path, app, secret, max_body), max_body_size=max_body, max_buffer_size=max_body
    )
    try:
        if app.post_init:
            await app.post_init(app)
        server.listen(port, address=listen)
        await _set_webhook(app, webhook_url, secret, stop)
        if not stop.is_set():
            await app.start()
            await stop.wait()
    finally:
        server.stop()
        with contextlib.suppress(Exception):
            await server.close_all_connections()
        await stop_application(app)


async def stop_application(app: Application) -> None:
    """Stop and shut down ``app`` with its hooks, as ``Application.run_*`` would (polling and
    webhook alike)."""
    if app.running:
        await app.stop()
        if app.post_stop:
            await app.post_stop(app)
    await app.shutdown()
    if app.post_shutdown:
        await app.post_shutdown(app)


async def _set_webhook(app: Application, url: str, secret: str, stop: asyncio.Event) -> None:
    """``setWebhook``; a refusal (a wrong URL or token) goes up, trouble reaching the Bot API is
    waited out with capped backoff."""
    attempt = 0
    while not stop.is_set():
        try:
            await app.bot.set_webhook(
                url=url, allowed_updates=Update.ALL_TYPES, secret_token=secret, max_connections=40
            )
            return
        except (BadRequest, Forbidden, InvalidToken):
            raise
        except TelegramError as exc:
            attempt += 1
            wait = backoff.delay(attempt, base=1.0, cap=30.0)
            log.warning("setWebhook failed (%s); trying again in %.0f s", type(exc).__name__, wait)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), wait)
