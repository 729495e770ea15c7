"""Run the real PTB ``Application`` (with its ``Updater`` long-polling) against ``FakeBotApi``.

The application runs in its own thread and event loop, like a separate process would; the test
thread pushes updates into the server and waits for what the bot sends back over HTTP.
"""

from __future__ import annotations

import asyncio
import threading

from bot.cli.wiring import Core
from handlers.app import build_application
from handlers.frontend import TelegramFrontend
from tests.botapi import FakeBotApi


class PollingBot:
    def __init__(
        self,
        core: Core,
        api: FakeBotApi,
        *,
        rate_limit_per_minute: int = 20,
        flood_limit: float = 0,
        alert_chat_id=None,
        app=None,
    ):
        """``app``: an Application built elsewhere (``handlers.app.assemble``, the production
        wiring); otherwise the residents' frontend alone on ``build_application``."""
        if app is not None:
            self.app = app
        else:
            self.frontend = TelegramFrontend(
                core.dialogue(), rate_limit_per_minute=rate_limit_per_minute, alert_chat_id=alert_chat_id
            )
            self.app = build_application(
                self.frontend, api.token, base_url=api.base_url, flood_limit=flood_limit
            )
        self._stop: asyncio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self.error: BaseException | None = None

    async def _main(self) -> None:
        self._stop = asyncio.Event()
        self._loop = asyncio.get_running_loop()
        app = self.app
        await app.initialize()
        if app.post_init:
            await app.post_init(app)
        await app.updater.start_polling(poll_interval=0.0, timeout=1)
        await app.start()
        self._ready.set()
        await self._stop.wait()
        await app.updater.stop()
        await app.stop()
        await app.shutdown()

    def start(self) -> PollingBot:
        def run() -> None:
            try:
                asyncio.run(self._main())
            except BaseException as exc:  # surfaced by stop()
                self.error = exc
                self._ready.set()

        self._thread = threading.Thread(target=run, name="ptb-app", daemon=True)
        self._thread.start()
        if not self._ready.wait(20) or self.error:
            raise RuntimeError(f"the bot did not start: {self.error!r}")
        return self

    def stop(self) -> None:
        if self._loop is not None and self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        if self._thread is not None:
            self._thread.join(20)
        if self.error:
            raise self.error
