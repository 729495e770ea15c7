"""Several instances on one PostgreSQL: one polls, the others stand by; all share the scheduled work.

``test_three_instances_send_a_newsletter_while_one_is_killed`` is the issue's test: three real
``ankommen run`` processes against one PostgreSQL and the loopback Bot API, a newsletter to 2,000
subscribers, and the polling instance killed midway. The loopback server answers a second
concurrent ``getUpdates`` with 409 as Telegram does, so two pollers would show as conflicts.
"""

from __future__ import annotations

import signal
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlmodel import Session, select

from bot.models import Delivery, NewsletterIssue
from bot.newsletters.outbox import CONCURRENCY
from bot.store import db
from bot.store.locks import Leadership, lock_key
from tests.botapi import FakeBotApi
from tests.helpers import run_cli, seed_subscribers, spawn_cli, wait_until
from tests.support import fleet

TOKEN = "123456:scale-out-test-token"

DRAFT = """---
newsletter: "1.24"
---
**Seniorencafé** am Montag

# en
**Seniors' café** on Monday

# ar
**مقهى كبار السن** يوم الاثنين

# uk
**Кафе для літніх людей** у понеділок
"""


# -- the lock itself -------------------------------------------------------------------------------
def test_the_lock_key_names_the_bot_not_its_secret():
    assert lock_key("123:secret-a") == lock_key("123:secret-b") != lock_key("124:secret-a")
    assert -(2**63) <= lock_key(TOKEN) < 2**63


def test_one_holder_at_a_time_and_the_next_takes_over(any_url, engine_for):
    engine = engine_for(any_url)
    first, second = Leadership(engine, TOKEN), Leadership(engine, TOKEN)
    other_bot = Leadership(engine, "999:x")
    try:
        assert first.acquire() and first.held() and first.leading
        assert not second.acquire() and not second.held()
        assert other_bot.acquire()  # another bot on the same store polls on its own
        first.release()
        assert not first.leading and not first.held()
        assert second.acquire() and second.held()
        assert not first.acquire()
    finally:
        for lock in (first, second, other_bot):
            lock.release()


def test_a_dropped_connection_loses_the_lock_and_a_standby_takes_it(pg_url, engine_for):
    engine = engine_for(pg_url)
    leader, standby = Leadership(engine, TOKEN), Leadership(engine, TOKEN)
    try:
        assert leader.acquire() and not standby.acquire()
        with engine.connect() as conn:  # the server ends the leader's session (a network drop)
            killed = conn.execute(
                sa.text(
                    "SELECT count(pg_terminate_backend(pid)) FROM pg_locks"
                    " WHERE locktype = 'advisory' AND pid <> pg_backend_pid()"
                    # this test's database only: other runs on the same server hold locks too
                    " AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
                )
            ).scalar_one()
            conn.commit()
        assert killed == 1
        assert wait_until(standby.acquire, 10)
        assert not leader.held() and not leader.leading  # it notices, and stands by
        assert not leader.acquire()
    finally:
        leader.release()
        standby.release()


# -- three instances -------------------------------------------------------------------------------
def _env(api: FakeBotApi, url: str, tmp_path: Path) -> dict[str, str]:
    return {
        "DATABASE_URL": url,
        "ANKOMMEN_STATE_DIR": str(tmp_path),
        "TELEGRAM_BOT_TOKEN": api.token,
        "TELEGRAM_API_BASE_URL": api.base_url,
        "ANKOMMEN_LEADER_CHECK_SECONDS": "1",
        "ANKOMMEN_NEWSLETTER_LEASE": "2",
        "ANKOMMEN_NEWSLETTER_RATE": "180",  # the total, shared by the three (bot/store/budget.py)
        "ANKOMMEN_LOG_LEVEL": "INFO",
    }


def _pollers(logs: list[Path]) -> list[int]:
    return [i for i, p in enumerate(logs) if "holds the polling lock" in p.read_text(errors="replace")]


def _holds_rows(engine, pid: int) -> bool:
    """Whether a worker of process ``pid`` holds delivery rows (worker ids are host:pid:random)."""
    with Session(engine) as s:
        return (
            s.exec(select(Delivery.id).where(Delivery.worker.like(f"%:{pid}:%")).limit(1)).first() is not None
        )


def _answered(api: FakeBotApi, chat: int) -> bool:
    return any(c.method == "sendMessage" for c in api.calls(chat_id=chat))


@pytest.mark.parametrize("kill", [signal.SIGKILL, signal.SIGTERM], ids=["sigkill", "sigterm"])
def test_three_instances_send_a_newsletter_while_one_is_killed(pg_url, engine_for, tmp_path, kill):
    total = 2000
    engine = engine_for(pg_url)
    db.upgrade(engine)
    chats = seed_subscribers(engine, range(700_000, 700_000 + total), ("de", "en", "ar", "uk", "fa"))
    draft = tmp_path / "issue.md"
    draft.write_text(DRAFT, encoding="utf-8")
    with FakeBotApi(per_chat_interval=1.0) as api:
        env = _env(api, pg_url, tmp_path)
        assert run_cli("newsletter", "draft", str(draft), env=env).returncode == 0
        logs = [tmp_path / f"instance{i}.log" for i in range(3)]
        procs = [spawn_cli(["run"], env, log) for log in logs]
        try:
            # Exactly one polls; the others stand by. Every instance answers nothing twice.
            assert wait_until(lambda: len(_pollers(logs)) == 1, 60), [p.read_text() for p in logs]
            (leader,) = _pollers(logs)
            api.message(9001, "/start")
            assert wait_until(lambda: _answered(api, 9001), 20)

            assert run_cli("newsletter", "send", "1", "--no-wait", env=env).returncode == 0
            assert wait_until(lambda: sum(api.delivered().values()) >= total // 3, 60)
            # One instance alone may take the whole budget: stop the poller once it delivers too.
            assert wait_until(lambda: _holds_rows(engine, procs[leader].pid), 30)
            assert api.conflicts == 0, "two instances polled at once"
            procs[leader].send_signal(kill)
            assert procs[leader].wait(30) == (-kill if kill == signal.SIGKILL else 0)
            at_kill = sum(api.delivered().values())
            assert at_kill < total, "the send was over before the kill: nothing was tested"

            def finished() -> bool:
                with Session(engine) as s:
                    return s.get(NewsletterIssue, 1).state == "sent"

            assert wait_until(finished, 90), [p.read_text() for p in logs]
            # A standby took over polling and answers.
            assert wait_until(lambda: len(_pollers(logs)) == 2, 30)
            api.message(9002, "/start")
            assert wait_until(lambda: _answered(api, 9002), 20)
            # At most one 409 since: the stopped poller's last long poll, left waiting on the
            # server when its client went away, ends when the new poller (or PTB's final
            # getUpdates on a graceful stop) asks.
            assert api.conflicts <= 1
        finally:
            fleet.stop_all(procs)
        received = {c: n for c, n in api.delivered().items() if c not in (9001, 9002)}
    with Session(engine) as s:
        rows = dict(s.exec(select(Delivery.chat_id, Delivery.state)).all())
    texts = [p.read_text(errors="replace") for p in logs]
    survivors = [t for i, t in enumerate(texts) if i != leader]

    assert all(n == 1 for n in received.values()), "a subscriber received the issue twice"
    assert set(rows) == set(chats)
    sent = {c for c, st in rows.items() if st == "sent"}
    unknown = {c for c, st in rows.items() if st == "unknown"}
    assert sent | unknown == set(chats), "a delivery was left pending, claimed or failed"
    assert sent <= set(received), "a row says sent, but the subscriber got nothing"
    assert set(received) <= set(chats)
    lost = set(chats) - set(received)
    assert lost <= unknown, "a subscriber got nothing and the store does not say so"
    if kill == signal.SIGTERM:
        # A graceful stop finishes its requests and hands back what it had claimed.
        assert not unknown and not lost
    else:
        # Killed mid-request, a message may or may not have reached Telegram: those rows are
        # 'unknown', never resent (at most once). A worker holds at most CONCURRENCY rows
        # between the mark right before a request and its recorded outcome.
        assert len(unknown) <= CONCURRENCY, len(unknown)
        assert any("marked unknown" in log for log in survivors)
    # The work was shared (claims with SKIP LOCKED): both survivors delivered a part, and so
    # did the stopped instance (its rows in flight were recovered, or it said so as it stopped).
    assert all("newsletter delivery round" in t for t in survivors), survivors
    # (Killed with SIGKILL right after it claimed rows, it may have had none in flight and had
    # no last word; that it held rows before the kill is asserted above.)
    if kill == signal.SIGTERM:
        assert "newsletter delivery" in texts[leader]
    assert not any("Traceback" in t for t in survivors)
    print(
        f"\n{kill.name}: {total} subscribers, {at_kill} delivered at the kill, "
        f"{len(unknown)} unknown ({len(unknown & set(received))} of them arrived), "
        f"{len(lost)} not received, 0 duplicates"
    )


# -- state any instance may need for a chat's next update lives in the store -----------------------
def _staff_desk(store):
    from bot.content.catalog import Catalog
    from bot.i18n import Translations
    from bot.staff.desk import StaffDesk
    from bot.staff.directory import StaffDirectory

    catalog = Catalog.load(store)
    return StaffDesk(StaffDirectory(store, catalog.measures), catalog, Translations())


def test_wrong_invitation_codes_count_across_instances(store):
    one, two = _staff_desk(store), _staff_desk(store)  # two instances behind a load balancer
    member = one.directory.add("Anna", "Amt")
    good = one.directory.invite(member.id)
    for desk in (one, two, one, two, one):
        desk.start(77, "s" + "0" * 24)
    (reply,) = two.start(77, good)
    assert "Zu viele falsche Codes" in reply.html
    assert one.directory.by_chat(77) is None
    with Session(store) as s:  # no chat id in clear
        keys = s.exec(sa.text("SELECT key FROM throttle_event")).scalars().all()
    assert len(keys) == 5 and all("77" not in k and len(k) == 64 for k in keys)


def test_a_coordinator_composes_on_one_instance_and_finishes_on_another(store, dialogue):
    from bot.models import StaffMember
    from bot.newsletters.desk import NewsletterDesk

    with Session(store) as s:
        s.add(StaffMember(name="K", organisation="Stadt", chat_id=55, role="coordinator", language="de"))
        s.commit()
    one, two = NewsletterDesk(store, dialogue), NewsletterDesk(store, dialogue)
    assert not two.is_composing(55)
    one.button(55, "W:n:1.24")
    assert two.is_composing(55)
    summary, *_ = two.text(55, "Hallo alle!")
    assert "Entwurf" in summary.html
    assert not one.is_composing(55)  # the draft is made once, wherever the text arrived
    with Session(store) as s:
        assert [i.newsletter for i in s.exec(select(NewsletterIssue)).all()] == ["1.24"]


def test_webhook_instances_share_a_secret_derived_from_the_token():
    import re

    from handlers.app import derived_webhook_secret

    a = derived_webhook_secret("123:abc")
    assert a == derived_webhook_secret("123:abc") != derived_webhook_secret("123:abd")
    assert re.fullmatch(r"[A-Za-z0-9_-]{1,256}", a) and "abc" not in a  # Telegram's charset
