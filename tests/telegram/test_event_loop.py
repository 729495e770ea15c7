"""The event loop never waits on the store: a slow store slows one chat, never all of them.

Another connection holds SQLite's write lock for 1.5 s while one chat's update must write (a
resident choosing a language). That chat waits for the lock, in a worker thread. Meanwhile ten
other chats ask the bot for help and the topics, through the real ``Application`` (production
wiring, ``handlers.app.assemble``) long-polling the loopback Bot API: their answers must keep an
update-to-reply p99 under 100 ms. Before one ``asyncio.to_thread`` per update, the language tap
ran on the event loop and every chat froze for the whole 1.5 s.
"""

from __future__ import annotations

import math
import sqlite3
import threading
import time

import pytest

from bot.cli.wiring import open_core
from bot.settings import Settings
from handlers.app import assemble
from tests.botapi import FakeBotApi
from tests.tgharness import PollingBot

LOCK_SECONDS = 1.5
SLOW_CHAT = 7001
OTHERS = list(range(7101, 7111))


@pytest.fixture
def running(tmp_path):
    with FakeBotApi() as api:
        settings = Settings.from_env(
            {
                "ANKOMMEN_STATE_DIR": str(tmp_path),
                "TELEGRAM_BOT_TOKEN": api.token,
                "TELEGRAM_API_BASE_URL": api.base_url,
                "ANKOMMEN_RATE_LIMIT": "1000",
                "TELEGRAM_FLOOD_LIMIT": "0",
                "ANKOMMEN_DB_BUSY_TIMEOUT": "10",
            }
        )
        core = open_core(settings)
        bot = PollingBot(core, api, app=assemble(core, settings)).start()
        try:
            yield api, settings
        finally:
            bot.stop()


def hold_write_lock(path: str, seconds: float, held: threading.Event) -> None:
    con = sqlite3.connect(path, isolation_level=None)
    con.execute("BEGIN IMMEDIATE")  # the write lock: readers go on (WAL), writers wait
    held.set()
    time.sleep(seconds)
    con.execute("ROLLBACK")
    con.close()


def test_a_locked_store_slows_one_chat_not_the_others(running):
    api, settings = running
    for chat in [SLOW_CHAT, *OTHERS]:  # warm up: every chat once, outside the measurement
        api.say(chat, "/help")
    [picker] = api.say(SLOW_CHAT, "/language")
    held = threading.Event()
    path = settings.database_url.split("///", 1)[1]
    locker = threading.Thread(target=hold_write_lock, args=(path, LOCK_SECONDS, held))
    locker.start()
    held.wait(5)
    locked_at = time.monotonic()
    api.press(picker, "L:en")  # this chat's answer must write, so it waits for the lock
    latencies = []
    for i in range(30):
        chat = OTHERS[i % len(OTHERS)]
        before = len(api.calls(chat_id=chat))
        sent_at = time.monotonic()
        api.message(chat, "/topics" if i % 2 else "/help")
        [reply] = api.wait_for(before + 1, chat_id=chat)[before:]
        latencies.append(reply.at - sent_at)
        time.sleep(0.01)
    answered_during_lock = time.monotonic() - locked_at < LOCK_SECONDS
    locker.join()
    [slow] = api.wait_for(3, chat_id=SLOW_CHAT, timeout=15)[2:]
    latencies.sort()
    p99 = latencies[math.ceil(0.99 * len(latencies)) - 1]  # nearest rank: of 30, the slowest
    assert p99 < 0.100, f"p99 {p99 * 1000:.0f} ms while one chat waited on the store: {latencies}"
    assert answered_during_lock, "the other chats' questions must fall inside the lock"
    assert slow.at - locked_at >= LOCK_SECONDS * 0.9, "the slow chat's path really waited for the lock"
