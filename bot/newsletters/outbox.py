"""The outbox worker: delivers newsletter issues within Telegram's limits, never twice, never lost.

Rows of ``delivery`` move through these states::

    pending -> claimed -> sending -> sent | blocked | gone | failed | unknown
                  |          '-> pending (HTTP 429, or not sent after a pause: Telegram has nothing)
                  '-> pending (released unsent on a stop, or the lease of a dead worker expired)
    skipped (the issue lacks the subscriber's language and the policy says skip)
    cancelled (the issue was cancelled before the row was started)

* **Claim.** A worker takes a batch of ``pending`` rows of issues in ``sending`` in one statement
  (``UPDATE … WHERE id IN (SELECT … FOR UPDATE SKIP LOCKED) RETURNING``; on SQLite the single
  statement is atomic too), stamps them ``claimed`` with its worker id and a lease. Nothing was
  sent for a ``claimed`` row, so a claimed row whose lease expired (its worker died) simply goes
  back to ``pending``. A live worker renews its leases every ``lease/3`` seconds.
* **In flight.** Right before the requests start, a small group (about 0.1 s of sending) is
  marked ``sending`` in one write. After the answers, outcomes are written in one transaction
  every 0.1 s. The write before the request is what makes the policy below safe.
* **At most once.** A row found ``sending`` with an expired lease (the process was killed, or a
  request timed out and the process died before writing) and a request that timed out or lost
  its connection (``Outcome.UNKNOWN``) may or may not have reached the subscriber. Such rows
  become ``unknown`` and are **never resent automatically**: ``ankommen newsletter status``
  counts them, and editors can see who may have missed the issue. A message twice costs the
  trust the newsletter lives on. The window is small: after a crash, at most about two groups
  (0.1 s of sending each: the one being sent and the next, already marked), the requests in
  flight and 0.1 s of answers not yet written end up ``unknown``; a few messages at the default
  25 per second, about 60 at 300 per second.
* **Rate.** One pacer spaces all requests of this worker at ``1/rate`` seconds, without bursts
  (a burst that meets network jitter earns a 429, and its ``retry_after`` of a whole second costs
  far more than the burst gains); the store write that marks the next group runs while the
  current group is sent, so writes do not stall the pace. A chat gets at most one message per
  ``per_chat_interval`` (1 s), counted from the answer to the previous one, from this worker;
  up to ``concurrency`` requests are in flight so latency does not cap throughput. Several
  workers (instances, or the CLI next to the bot) each hold their own rate: set
  ``ANKOMMEN_NEWSLETTER_RATE`` to the total divided by their number.
* **Errors.** HTTP 429 pauses every request of this worker for ``retry_after`` and puts the row
  back to ``pending`` (Telegram did not deliver it). HTTP 403: the row is ``blocked`` and the
  chat's subscriptions become ``blocked``. HTTP 400 "chat not found": ``gone`` and the
  subscriptions become ``inactive``. A request that certainly did not reach Telegram (no
  connection, HTTP 503, or the Bot API's own JSON 5xx error; ``handlers/request.py``) is treated
  like a 429: the row goes back to ``pending`` and the worker pauses, 1 s doubling with jitter up
  to 30 s over consecutive such faults. A 5xx that may have been delivered (a proxy's 500, 502 or
  504 page), a timeout or a connection lost after the request was written: ``unknown`` (at most
  once, above). Other refusals: ``failed`` with the reason. The store writes are retried on
  transient errors (``bot/store/db.py``); each is one transaction that checks the row's state first.

The worker never imports ``telegram``: it sends through a ``bot.chat.outbound.Sender``. Logs carry
counts and issue ids, never a chat id next to a text.
"""

from __future__ import annotations

import asyncio
import logging
import math
import os
import secrets
import socket
import time
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from bot.chat.markup import SplitError, split_html
from bot.chat.outbound import Attachment, Outcome, Sender, SendResult
from bot.chat.replies import Reply
from bot.models import Delivery, NewsletterIssue, Subscription, utcnow
from bot.newsletters.issues import OPEN_STATES, finish_done
from bot.store import db
from bot.store.claims import claim_rows

log = logging.getLogger(__name__)

D = Delivery.__table__
I = NewsletterIssue.__table__  # noqa: E741
S = Subscription.__table__
FLUSH_INTERVAL = 0.1
LOG_INTERVAL = 5.0
UNKNOWN_AFTER_CRASH = "in flight when its worker stopped"


@dataclass(frozen=True)
class Job:
    id: int
    issue_id: int
    chat_id: int
    language: str


Render = Callable[[NewsletterIssue, str], tuple[Reply, Attachment | None]]


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
        from sqlmodel import Session

        with Session(self.engine) as s:
            issue = s.get(NewsletterIssue, issue_id)
            if issue is not None:
                s.expunge(issue)
            return issue


class Pacer:
    """Spaces calls ``1/rate`` seconds apart, with a credit of ``burst`` calls to catch up after a
    short stall (a store write): in any one second at most ``rate + burst - 1`` calls start."""

    def __init__(self, rate: float, burst: int = 1, clock: Callable[[], float] = time.monotonic):
        self.interval = 1.0 / rate
        self.credit = (max(1, burst) - 1) * self.interval
        self.clock = clock
        self._next = 0.0

    async def wait(self, n: int = 1) -> None:
        """Wait for a slot for ``n`` requests sent together (a message split into ``n`` parts)."""
        now = self.clock()
        slot = max(now - self.credit, self._next)
        self._next = slot + self.interval * max(1, n)
        if slot > now:
            await asyncio.sleep(slot - now)


class Outbox:
    """Delivers the outbox through ``sender``; ``render`` makes an issue's message in a language."""

    def __init__(
        self,
        engine: Engine,
        sender: Sender,
        render: Render,
        *,
        rate: float = 25.0,
        per_chat_interval: float = 1.0,
        concurrency: int = 16,
        lease: float = 10.0,
        worker: str | None = None,
        clock: Callable[[], float] = time.monotonic,
    ):
        self._fixed_worker = worker
        self._run_id = 0
        self.store = OutboxStore(engine, worker or worker_id(), lease)
        self.sender = sender
        self.render = render
        self.rate = rate
        self.per_chat_interval = per_chat_interval
        self.concurrency = concurrency
        self.lease = lease
        self.clock = clock
        self.group = max(1, int(rate * 0.1))
        self.batch = max(20, int(rate * 2))
        self.counts: Counter[str] = Counter()
        self.requests = 0
        self._pacer = Pacer(rate, clock=clock)
        self._sem = asyncio.Semaphore(concurrency)
        self._resume_at = 0.0
        self._last: dict[int, float] = {}  # chat -> when its last request started or ended
        self._in_flight: set[int] = set()
        self._results: list[tuple[Job, SendResult]] = []
        self._issues: dict[int, NewsletterIssue | None] = {}
        self._messages: dict[tuple[int, str], tuple[Reply, Attachment | None]] = {}
        self._weights: dict[tuple[int, str], int] = {}
        self._tasks: set[asyncio.Task] = set()

    # -- running -------------------------------------------------------------------------------
    async def run(
        self,
        *,
        issue_ids: list[int] | None = None,
        until_done: bool = False,
        stop: asyncio.Event | None = None,
    ) -> Counter[str]:
        """Deliver until nothing is claimable (or, with ``until_done``, until the issues have no
        open row left, waiting out other workers' leases). Returns the outcomes counted here."""
        stop = stop or asyncio.Event()
        # A fresh worker id for every run: rows left by an earlier run of this process (its
        # store writes failed, its leases are expiring) are another worker's to ``recover``,
        # never silently taken over by a heartbeat that renews them for ever.
        self.store.worker = self._fixed_worker or worker_id()
        self._run_id += 1
        await asyncio.to_thread(self.store.recover)
        background = [
            asyncio.create_task(self._flush_loop()),
            asyncio.create_task(self._heartbeat_loop(self._run_id, self.store.worker)),
            asyncio.create_task(self._log_loop()),
        ]
        try:
            while not stop.is_set():
                jobs = await asyncio.to_thread(self.store.claim, self.batch, issue_ids)
                if jobs:
                    await self._dispatch(jobs, stop)
                    continue
                await self._drain()
                await asyncio.to_thread(finish_done, self.store.engine)
                if not until_done or not await asyncio.to_thread(self.store.open_count, issue_ids):
                    break
                # Other workers hold leases (or a dead worker's have not expired yet): wait.
                try:
                    await asyncio.wait_for(stop.wait(), min(1.0, self.lease / 4))
                except TimeoutError:
                    pass
                await asyncio.to_thread(self.store.recover)
        finally:
            # Every step runs whatever the one before did (the store may be down): above all the
            # heartbeat stops, so that this run's leases expire and ``recover`` finds its rows.
            try:
                await self._drain()
            except Exception as exc:  # noqa: BLE001 - rows stay 'sending' -> unknown: never twice
                log.error("outbox: could not record the last outcomes: %s", type(exc).__name__)
            finally:
                for task in background:
                    task.cancel()
                await asyncio.gather(*background, return_exceptions=True)
            for step in (self.store.release, lambda: finish_done(self.store.engine)):
                try:
                    await asyncio.to_thread(step)
                except Exception as exc:  # noqa: BLE001 - the leases expire; recover() does it
                    log.error("outbox: could not release this run's rows: %s", type(exc).__name__)
        return self.counts

    def _pick(self, queue: deque[Job], busy: set[int]) -> list[Job]:
        """Up to ``group`` jobs whose chat may get a message now (and is not in ``busy``)."""
        now = self.clock()
        group: list[Job] = []
        later: deque[Job] = deque()
        chats = set(busy) | self._in_flight
        while queue and len(group) < self.group:
            job = queue.popleft()
            ready = now - self._last.get(job.chat_id, -math.inf) >= self.per_chat_interval
            if ready and job.chat_id not in chats:
                group.append(job)
                chats.add(job.chat_id)
            else:
                later.append(job)
        queue.extendleft(reversed(later))
        return group

    def _mark(self, group: list[Job]) -> asyncio.Task:
        return asyncio.create_task(asyncio.to_thread(self.store.mark_sending, [j.id for j in group]))

    async def _dispatch(self, jobs: list[Job], stop: asyncio.Event) -> None:
        queue = deque(jobs)
        ahead: tuple[list[Job], asyncio.Task] | None = None  # the next group, being marked
        while queue or ahead:
            if ahead is None:
                group = self._pick(queue, set())
                if not group:
                    now = self.clock()
                    first = min(self._last.get(j.chat_id, now) for j in queue) + self.per_chat_interval
                    await asyncio.sleep(max(0.01, first - now))
                    continue
                ahead = (group, self._mark(group))
            group, marking = ahead
            marked = await marking
            group = [j for j in group if j.id in marked]
            if stop.is_set():
                await asyncio.to_thread(self.store.release, [j.id for j in group])
                return
            nxt = self._pick(queue, {j.chat_id for j in group})
            ahead = (nxt, self._mark(nxt)) if nxt else None
            await self._wait_pause()
            for i, job in enumerate(group):
                await self._pacer.wait(await self._weight(job))
                await self._sem.acquire()
                if self._paused() or stop.is_set():
                    self._sem.release()
                    # Marked but never requested: nothing reached Telegram.
                    await asyncio.to_thread(self.store.release, [j.id for j in group[i:]])
                    break
                self._last[job.chat_id] = self.clock()
                self._in_flight.add(job.chat_id)
                task = asyncio.create_task(self._send(job))
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)
        if len(self._last) > 50_000:
            cutoff = self.clock() - self.per_chat_interval
            self._last = {c: t for c, t in self._last.items() if t >= cutoff}

    async def _send(self, job: Job) -> None:
        try:
            message = await self._message(job)
            if message is None:
                result = SendResult(Outcome.FAILED, detail="issue not found")
            else:
                reply, attachment = message
                self.requests += 1
                if attachment is not None:
                    result = await self.sender.send_file(
                        job.chat_id, attachment, reply.html, buttons=reply.buttons
                    )
                else:
                    result = await self.sender.send(job.chat_id, reply)
        except Exception as exc:  # noqa: BLE001 - the request may have left: unknown, never resent
            log.warning("newsletter request failed unexpectedly: %s", type(exc).__name__)
            result = SendResult(Outcome.UNKNOWN, detail=type(exc).__name__)
        finally:
            self._sem.release()
            # Spacing counts from the answer too: a slow first request must not arrive less
            # than a second before the next one to the same chat.
            self._in_flight.discard(job.chat_id)
            self._last[job.chat_id] = self.clock()
        if result.outcome is Outcome.RETRY:
            self._resume_at = max(self._resume_at, self.clock() + max(result.retry_after, 0.0))
        self._results.append((job, result))

    async def _message(self, job: Job) -> tuple[Reply, Attachment | None] | None:
        key = (job.issue_id, job.language)
        if key not in self._messages:
            if job.issue_id not in self._issues:
                self._issues[job.issue_id] = await asyncio.to_thread(self.store.load_issue, job.issue_id)
            issue = self._issues[job.issue_id]
            if issue is None:
                return None
            self._messages[key] = self.render(issue, job.language)
        return self._messages[key]

    async def _weight(self, job: Job) -> int:
        """Requests the job's message takes: its parts (``bot.chat.markup.split_html``), 1 for a photo."""
        key = (job.issue_id, job.language)
        if key not in self._weights:
            message = await self._message(job)
            weight = 1
            if message is not None and message[1] is None:
                try:
                    weight = len(split_html(message[0].html))
                except SplitError:
                    pass  # refused by the sender without a request
            self._weights[key] = weight
        return self._weights[key]

    def _paused(self) -> bool:
        return self.clock() < self._resume_at

    async def _wait_pause(self) -> None:
        while (left := self._resume_at - self.clock()) > 0:
            log.info("outbox paused for %.1f s (HTTP 429)", left)
            await asyncio.sleep(left)

    async def _drain(self) -> None:
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)
        await self._flush()

    async def _flush(self) -> None:
        if not self._results:
            return
        batch, self._results = self._results, []
        await asyncio.to_thread(self.store.record, batch)
        for _job, r in batch:
            self.counts[r.outcome.value] += 1

    async def _flush_loop(self) -> None:
        while True:
            await asyncio.sleep(FLUSH_INTERVAL)
            try:
                await self._flush()
            except Exception as exc:  # noqa: BLE001 - rows stay 'sending' -> unknown: never twice
                log.error("outbox: could not record outcomes: %s", type(exc).__name__)

    async def _heartbeat_loop(self, run_id: int, worker: str) -> None:
        """Renew this run's leases, and only while this run lasts (a loop left over from an
        earlier run stops by itself: its worker's leases must expire for ``recover``)."""
        while self._run_id == run_id and self.store.worker == worker:
            await asyncio.sleep(self.lease / 3)
            if self._run_id != run_id or self.store.worker != worker:
                return
            try:
                await asyncio.to_thread(self.store.heartbeat)
            except Exception as exc:  # noqa: BLE001
                log.error("outbox: could not renew leases: %s", type(exc).__name__)

    async def _log_loop(self) -> None:
        last = Counter()
        while True:
            await asyncio.sleep(LOG_INTERVAL)
            if self.counts != last:
                last = Counter(self.counts)
                log.info(
                    "newsletter delivery progress: %s", ", ".join(f"{k} {v}" for k, v in sorted(last.items()))
                )


def issue_renderer(dialogue) -> Render:
    """Messages of an issue as the dialogue words them (title, note, unsubscribe button)."""

    def render(issue: NewsletterIssue, lang: str) -> tuple[Reply, Attachment | None]:
        reply = dialogue.newsletter_issue(issue.newsletter, issue.texts, lang)
        attachment = None
        if issue.image:
            attachment = Attachment("photo", issue.image, issue.image_name or "image.jpg")
        return reply, attachment

    return render
