"""The outbox's store: the states of ``delivery`` rows and every write the worker makes to them.

``OutboxStore`` is synchronous; the worker (``bot/newsletters/outbox.py``) runs each call in a
thread. Rows of ``delivery`` move through these states::

    pending -> claimed -> sending -> sent | blocked | gone | failed | unknown
                  |          '-> pending (HTTP 429, or not sent after a pause: Telegram has nothing)
                  '-> pending (released unsent on a stop, or the lease of a dead worker expired)
    skipped (the issue lacks the subscriber's language and the policy says skip)
    cancelled (the issue was cancelled before the row was started)

* **Claim.** A worker takes a batch of ``pending`` rows of issues in ``sending`` in one statement
  (``UPDATE … WHERE id IN (SELECT … FOR UPDATE SKIP LOCKED) RETURNING``; on SQLite the single
  statement is atomic too), stamps them ``claimed`` with its worker id and a lease. Nothing was
  sent for a ``claimed`` row, so a claimed row whose lease expired (its worker died) simply goes
  back to ``pending``. A live worker renews its leases every ``lease/3`` seconds (``heartbeat``).
* **Recovery.** A row found ``sending`` with an expired lease may or may not have reached the
  subscriber: ``recover`` makes it ``unknown``, never ``pending`` (the at-most-once policy of
  ``bot/newsletters/outbox.py``).
* **Outcomes.** ``record`` writes a batch of answers in one transaction; HTTP 403 also makes the
  chat's subscriptions ``blocked``, HTTP 400 "chat not found" ``inactive``.

Every method is one transaction that checks the row's state first, retried on transient errors
(``bot/store/db.py``).
"""

from __future__ import annotations

import logging
import os
import secrets
import socket
from dataclasses import dataclass
from datetime import timedelta

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import Session

from bot.chat.outbound import Outcome, SendResult
from bot.models import Delivery, NewsletterIssue, Subscription, utcnow
from bot.newsletters.issues import OPEN_STATES
from bot.store import db
from bot.store.claims import claim_rows

log = logging.getLogger(__name__)

D = Delivery.__table__
I = NewsletterIssue.__table__  # noqa: E741
S = Subscription.__table__
UNKNOWN_AFTER_CRASH = "in flight when its worker stopped"


@dataclass(frozen=True)
class Job:
    id: int
    issue_id: int
    chat_id: int
    language: str


def worker_id() -> str:
    return f"{socket.gethostname()[:32]}:{os.getpid()}:{secrets.token_hex(4)}"


@db.retry_transient()
class OutboxStore:
    """The worker's writes to the store (synchronous; the worker runs them in a thread)."""

    def __init__(self, engine: Engine, worker: str, lease: float):
        self.engine = engine
        self.worker = worker
        self.lease = timedelta(seconds=lease)

    def recover(self) -> tuple[int, int]:
        """Rows of workers whose lease expired: claimed -> pending, sending -> unknown."""
        now = utcnow()
        with self.engine.begin() as conn:
            released = conn.execute(
                sa.update(D)
                .where(D.c.state == "claimed", D.c.lease_until < now)
                .values(state="pending", worker=None, lease_until=None)
            ).rowcount
            unknown = conn.execute(
                sa.update(D)
                .where(D.c.state == "sending", D.c.lease_until < now)
                .values(state="unknown", worker=None, lease_until=None, last_error=UNKNOWN_AFTER_CRASH)
            ).rowcount
        if released or unknown:
            log.warning(
                "outbox recovery: %d claimed rows back to pending, %d rows in flight marked unknown "
                "(never resent automatically)",
                released,
                unknown,
            )
        return released, unknown

    def claim(self, n: int, issue_ids: list[int] | None = None) -> list[Job]:
        which = [I.c.state == "sending"]
        if issue_ids:
            which.append(D.c.issue_id.in_(issue_ids))
        with self.engine.begin() as conn:
            rows = claim_rows(
                conn,
                D,
                [D.c.state == "pending"],
                {"state": "claimed", "worker": self.worker, "lease_until": utcnow() + self.lease},
                (D.c.id, D.c.issue_id, D.c.chat_id, D.c.language),
                limit=n,
                join=(I, I.c.id == D.c.issue_id),
                pick_where=which,
            )
        return sorted((Job(*r) for r in rows), key=lambda j: j.id)

    def mark_sending(self, ids: list[int]) -> set[int]:
        """Claimed rows of this worker -> sending, before their requests; returns those marked."""
        with self.engine.begin() as conn:
            rows = conn.execute(
                sa.update(D)
                .where(D.c.id.in_(ids), D.c.state == "claimed", D.c.worker == self.worker)
                .values(state="sending", attempts=D.c.attempts + 1, lease_until=utcnow() + self.lease)
                .returning(D.c.id)
            ).all()
        return {r[0] for r in rows}

    def release(self, ids: list[int] | None = None) -> int:
        """This worker's rows that were not sent -> pending (all of its claimed rows when ``ids`` is None)."""
        q = sa.update(D).where(D.c.worker == self.worker)
        if ids is None:
            q = q.where(D.c.state == "claimed")
        else:
            q = q.where(D.c.id.in_(ids), D.c.state.in_(("claimed", "sending")))
        with self.engine.begin() as conn:
            return conn.execute(q.values(state="pending", worker=None, lease_until=None)).rowcount

    def heartbeat(self) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                sa.update(D)
                .where(D.c.worker == self.worker, D.c.state.in_(("claimed", "sending")))
                .values(lease_until=utcnow() + self.lease)
            )

    def record(self, results: list[tuple[Job, SendResult]]) -> None:
        """Write outcomes, in one transaction."""
        groups: dict[tuple[str, str | None], list[int]] = {}
        blocked, gone = set(), set()
        for job, r in results:
            o = r.outcome
            if o is Outcome.SENT:
                key = ("sent", None)
            elif o is Outcome.RETRY:
                key = ("pending", r.detail or "retry")
            elif o is Outcome.BLOCKED:
                key = ("blocked", r.detail or "403")
                blocked.add(job.chat_id)
            elif o is Outcome.GONE:
                key = ("gone", r.detail or "400 chat not found")
                gone.add(job.chat_id)
            elif o is Outcome.UNKNOWN:
                key = ("unknown", r.detail or "timeout")
            else:
                key = ("failed", (r.detail or "failed")[:200])
            groups.setdefault(key, []).append(job.id)
        now = utcnow()
        with self.engine.begin() as conn:
            for (state, detail), ids in groups.items():
                values = {"state": state, "worker": None, "lease_until": None, "last_error": detail}
                if state == "sent":
                    values["sent_at"] = now
                allowed = ("sending", "unknown") if state == "sent" else ("sending",)
                conn.execute(sa.update(D).where(D.c.id.in_(ids), D.c.state.in_(allowed)).values(**values))
            if blocked:
                conn.execute(sa.update(S).where(S.c.chat_id.in_(blocked)).values(status="blocked"))
            if gone:
                conn.execute(sa.update(S).where(S.c.chat_id.in_(gone)).values(status="inactive"))

    def open_count(self, issue_ids: list[int] | None = None) -> int:
        q = (
            sa.select(sa.func.count())
            .select_from(D.join(I, I.c.id == D.c.issue_id))
            .where(D.c.state.in_(OPEN_STATES), I.c.state == "sending")
        )
        if issue_ids:
            q = q.where(D.c.issue_id.in_(issue_ids))
        with self.engine.connect() as conn:
            return conn.execute(q).scalar_one()

    def load_issue(self, issue_id: int) -> NewsletterIssue | None:
        with Session(self.engine) as s:
            issue = s.get(NewsletterIssue, issue_id)
            if issue is not None:
                s.expunge(issue)
            return issue
