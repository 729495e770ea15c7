"""Staff helpers shared by the staff, fault and end-to-end tests: a clock the test sets, linked
staff members, backdated assignments, a status-loop tick through the loopback Bot API, and the
production wiring (``handlers.app.assemble``) long-polling that server (``world``)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import subprocess
import sys
from datetime import UTC, datetime

import sqlalchemy as sa
from telegram import Bot

from bot.cli.wiring import open_core
from bot.content.catalog import Catalog
from bot.i18n import Translations
from bot.settings import Settings
from bot.staff.desk import StaffDesk
from bot.staff.directory import StaffDirectory
from bot.staff.loop import LoopConfig, StatusLoop
from bot.staff.onboarding import LinkOutcome
from handlers.app import assemble
from handlers.sender import BotSender
from tests.botapi import FakeBotApi
from tests.tgharness import PollingBot

MONDAY = datetime(2026, 11, 30, 9, 30, tzinfo=UTC)


class Clock:
    def __init__(self, now: datetime):
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def make_parts(store, catalog: Catalog | None = None):
    """(directory, desk, loop, clock) on ``store``, the clock at ``MONDAY``; ``catalog``: the
    store's, if the caller has it already."""
    catalog = catalog or Catalog.load(store)
    directory = StaffDirectory(store, catalog.measures)
    clock = Clock(MONDAY)
    desk = StaffDesk(directory, catalog, Translations(), clock=clock)
    loop = StatusLoop(store, desk, LoopConfig())
    return directory, desk, loop, clock


def linked(directory, name, chat_id, measures=(), role="staff", at=None):
    member = directory.add(name, "Amt", role=role)
    if measures:
        directory.assign(member.id, list(measures))
    outcome, member, _moved = directory.link(chat_id, directory.invite(member.id, now=at), now=at)
    assert outcome is LinkOutcome.LINKED
    return member


def backdate_assignments(store, when):
    with store.begin() as conn:
        conn.execute(sa.text("UPDATE assignment SET created_at = :t"), {"t": when})


def tick(api: FakeBotApi, loop, now: datetime):
    async def run():
        async with Bot(api.token, base_url=api.base_url) as bot:
            return await loop.tick(now, BotSender(bot))

    return asyncio.run(run())


def say(api, chat_id, text, n=1):
    return api.say(chat_id, text, n)


def press(api, sent, data, n=1):
    """Press a button; return the ``n`` messages sent or edited in that chat in answer."""
    before = len(api.calls(chat_id=sent.chat_id))
    api.press(sent, data)
    return api.wait_for(before + n, chat_id=sent.chat_id)[before:]


def cli(settings_env: dict, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, **settings_env}
    return subprocess.run(
        [sys.executable, "-m", "bot.cli", *args], capture_output=True, text=True, env=env, timeout=120
    )


@contextlib.contextmanager
def world(tmp_path, case):
    """The production wiring (``handlers.app.assemble``: residents, staff desk, /report and the
    newsletters on one Application) against the loopback server; the test drives the clock, and
    the store and the CLI start at the case's moment (``ANKOMMEN_NOW``)."""
    with FakeBotApi() as api:
        settings = Settings.from_env(
            {
                "ANKOMMEN_STATE_DIR": str(tmp_path),
                "TELEGRAM_BOT_USERNAME": "AnkommenTestBot",
                "TELEGRAM_BOT_TOKEN": api.token,
                "TELEGRAM_API_BASE_URL": api.base_url,
                "TELEGRAM_FLOOD_LIMIT": "0",
                "ANKOMMEN_NOW": case.assigned.isoformat(),
            }
        )
        core = open_core(settings)
        clock = Clock(case.assigned)
        desk = core.staff_desk(clock=clock)
        loop = core.status_loop(desk)
        app = assemble(core, settings, desk=desk, status_tick=3600)  # the test ticks by itself
        bot = PollingBot(core, api, app=app).start()
        try:
            yield core, clock, desk, loop, api, settings
        finally:
            bot.stop()
        core.engine.dispose()
