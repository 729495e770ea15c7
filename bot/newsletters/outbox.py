"""The outbox worker: delivers newsletter issues within Telegram's limits, never twice, never lost.

The rows' states, claims, leases and recovery are ``bot/newsletters/outbox_store.py``'s (a
synchronous store this worker runs in threads); the spacing of requests is
``bot/newsletters/pacer.py``'s. This module drives them:

* **In flight.** A row is marked ``sending`` in a write of its own right before its request
  starts (the write before the request is what makes the policy below safe), and its outcome
  is written as soon as the answer is in: one writer, one transaction for whatever answers
  arrived during the previous write. A worker holds at most ``concurrency`` rows between the
  two writes (a permit taken before the mark is given back only when the outcome is
  committed). The rows of the worker's slots within ``MARK_AHEAD`` (20 ms) of each other are
  marked in one write (one row at a time at 30 a second, a few at 300), the next group's while
  the current one is sent.
* **At most once.** A row found ``sending`` with an expired lease (the process was killed, or a
  request timed out and the process died before writing) and a request that timed out or lost
  its connection (``Outcome.UNKNOWN``) may or may not have reached the subscriber. Such rows
  become ``unknown`` and are **never resent automatically**: ``ankommen newsletter status``
  counts them, and editors can see who may have missed the issue. A message twice costs the
  trust the newsletter lives on. **The bound:** after a ``kill -9``, the rows that end
  ``unknown`` are exactly the worker's rows between the two writes: requests started and not
  yet recorded (in flight, or answered in the last few milliseconds), plus the rows marked for
  its next slots (at most two groups of 20 ms). There are never more than ``concurrency`` (16)
  of them; its claimed rows that were not marked go back to ``pending`` when their lease
  expires.
* **Rate.** Requests start at time slots of the budget every instance shares
  (``bot/store/budget.py``: ``ANKOMMEN_NEWSLETTER_RATE`` is the total for all instances, the
  status loop draws from the same budget), at most one per slot, without bursts. A chat gets at
  most one message per ``per_chat_interval`` (1 s), counted from the answer to the previous
  one, from this worker; up to ``concurrency`` requests are in flight so latency does not cap
  throughput. While running, the worker recovers other workers' expired leases every
  ``recover_every`` seconds (``ANKOMMEN_LEADER_CHECK_SECONDS``), so the rows a killed
  instance had claimed are sent by the others within that plus one lease.
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
import time
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy.engine import Engine

from bot.chat.markup import SplitError, split_html
from bot.chat.outbound import Attachment, Outcome, Sender, SendResult
from bot.chat.replies import Reply
from bot.models import NewsletterIssue
from bot.newsletters.issues import finish_done
from bot.newsletters.outbox_store import Job, OutboxStore, worker_id
from bot.newsletters.pacer import ChatSpacing
from bot.store.budget import Budget, memory_budget

log = logging.getLogger(__name__)

LOG_INTERVAL = 5.0
MARK_AHEAD = 0.02  # seconds of this worker's slots whose rows are marked in one write
RECORD_RETRY = 0.5  # seconds before a failed outcome write is tried again

Render = Callable[[NewsletterIssue, str], tuple[Reply, Attachment | None]]
CONCURRENCY = 16  # rows between their two writes at once (each request with its own connection)


@dataclass
class _Group:
    """Jobs to send, one per slot, and the write that marks them ``sending``."""

    jobs: list[Job]
    marking: asyncio.Task


class Outbox:
    """Delivers the outbox through ``sender``; ``render`` makes an issue's message in a language.

    ``budget`` is the Telegram budget this process shares with the status loop and every other
    instance (``bot.store.budget.store_budget``); without one, a budget of this worker alone at
    ``rate``."""

    def __init__(
        self,
        engine: Engine,
        sender: Sender,
        render: Render,
        *,
        rate: float = 30.0,
        per_chat_interval: float = 1.0,
        concurrency: int = CONCURRENCY,
        lease: float = 10.0,
        worker: str | None = None,
        budget: Budget | None = None,
        recover_every: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
    ):
        self._fixed_worker = worker
        self._run_id = 0
        self.store = OutboxStore(engine, worker or worker_id(), lease)
        self.sender = sender
        self.render = render
        self.budget = budget or memory_budget(rate)
        self.rate = self.budget.rate
        self.per_chat_interval = per_chat_interval
        self.concurrency = concurrency
        self.lease = lease
        self.recover_every = recover_every
        self.clock = clock
        self.batch = max(10, int(self.rate))  # about a second of the total rate per claim
        self.counts: Counter[str] = Counter()
        self.requests = 0
        self.most_unrecorded = 0  # the most rows held between their two writes at once
        self._spacing = ChatSpacing(per_chat_interval, clock)
        self._window = asyncio.Semaphore(concurrency)
        self._held = 0
        self._resume_at = 0.0
        self._results: list[tuple[Job, SendResult]] = []
        self._answered = asyncio.Event()
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
        self._answered = asyncio.Event()
        await asyncio.to_thread(self.store.recover)
        background = [
            asyncio.create_task(self._record_loop()),
            asyncio.create_task(self._heartbeat_loop(self._run_id, self.store.worker)),
            asyncio.create_task(self._log_loop()),
            asyncio.create_task(self._recover_loop()),
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
            try:  # claimed rows never started go back for any worker; counted, so the log says so
                if released := await asyncio.to_thread(self.store.release):
                    self.counts["released"] += released
                await asyncio.to_thread(finish_done, self.store.engine)
            except Exception as exc:  # noqa: BLE001 - the leases expire; recover() does it
                log.error("outbox: could not release this run's rows: %s", type(exc).__name__)
        return self.counts

    async def _hold(self, stop: asyncio.Event, *, wait: bool = True) -> bool:
        """A permit for one row, from its mark to its recorded outcome (False: stopping, or none
        free and not ``wait``)."""
        while True:
            if not wait and self._window.locked():
                return False
            try:
                await asyncio.wait_for(self._window.acquire(), 0.5)
            except TimeoutError:
                if stop.is_set():
                    return False
                continue
            self._held += 1
            self.most_unrecorded = max(self.most_unrecorded, self._held)
            return True

    def _unhold(self, n: int = 1) -> None:
        for _ in range(n):
            self._held -= 1
            self._window.release()

    async def _group(
        self, queue: deque[Job], busy: set[int], stop: asyncio.Event, *, wait: bool, skip: int = 0
    ) -> _Group | None:
        """The next jobs, as many as this process has slots within ``MARK_AHEAD`` after the
        ``skip`` slots the group being sent will use, each with a permit, their mark started.
        Only the first job of a group built with ``wait`` waits for a permit (the group sent
        meanwhile holds some: the next one must not wait for those)."""
        size = min(self.budget.within(MARK_AHEAD, skip), max(1, self.concurrency // 2))
        jobs: list[Job] = []
        chats = set(busy)
        while queue and len(jobs) < size:
            picked = self._spacing.pick(queue, chats, 1)
            if not picked:
                break
            (job,) = picked
            if not await self._hold(stop, wait=wait and not jobs):
                queue.appendleft(job)
                break
            jobs.append(job)
            chats.add(job.chat_id)
        if not jobs:
            return None
        marking = asyncio.create_task(asyncio.to_thread(self.store.mark_sending, [j.id for j in jobs]))
        return _Group(jobs, marking)

    async def _dispatch(self, jobs: list[Job], stop: asyncio.Event) -> None:
        queue = deque(jobs)
        ahead: _Group | None = None  # the next group, being marked while this one is sent
        try:
            while (queue or ahead) and not stop.is_set():
                if ahead is None:
                    await self._wait_pause()
                    ahead = await self._group(queue, set(), stop, wait=True)
                    if ahead is None:
                        if queue and not stop.is_set():
                            await asyncio.sleep(self._spacing.wait_for(queue))
                        continue
                group, ahead = ahead, None
                try:
                    marked = await group.marking
                except BaseException:
                    self._unhold(len(group.jobs))  # not marked: still claimed, released at the end
                    raise
                busy = {j.chat_id for j in group.jobs}
                ahead = await self._group(queue, busy, stop, wait=False, skip=len(group.jobs))
                await self._send_group(group, marked, stop)
        finally:
            if ahead is not None:  # marked (or being marked), never requested: back to pending
                try:
                    marked = await ahead.marking
                except Exception:  # noqa: BLE001 - not marked: claimed rows, released at the end
                    marked = set()
                await self._abandon(ahead, marked)
        self._spacing.prune()

    async def _send_group(self, group: _Group, marked: set[int], stop: asyncio.Event) -> None:
        """Each marked row's request at its slot, taken from the budget now (after the mark)."""
        for i, job in enumerate(group.jobs):
            if job.id not in marked:  # no longer this worker's (its lease expired): not sent
                self._unhold()
                continue
            try:
                await self.budget.wait(await self._weight(job))
            except BaseException:
                await self._abandon(_Group(group.jobs[i:], group.marking), marked)
                raise
            if self._paused() or stop.is_set():
                # Marked but never requested: nothing reached Telegram.
                await self._abandon(_Group(group.jobs[i:], group.marking), marked)
                return
            self._spacing.started(job.chat_id)
            task = asyncio.create_task(self._send(job))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _abandon(self, group: _Group, marked: set[int]) -> None:
        """Rows marked (or claimed) and not requested: back to pending, their permits free."""
        try:
            await asyncio.to_thread(self.store.release, [j.id for j in group.jobs if j.id in marked])
        finally:
            self._unhold(len(group.jobs))

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
            self._spacing.answered(job.chat_id)
        if result.outcome is Outcome.RETRY:
            self._resume_at = max(self._resume_at, self.clock() + max(result.retry_after, 0.0))
        self._results.append((job, result))
        self._answered.set()

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
        """Write the answers that arrived, in one transaction; their permits are free after it."""
        if not self._results:
            return
        batch, self._results = self._results, []
        try:
            await asyncio.to_thread(self.store.record, batch)
        except BaseException:
            self._results[:0] = batch  # written again later (each write checks the row's state)
            raise
        self._unhold(len(batch))
        for _job, r in batch:
            self.counts[r.outcome.value] += 1

    async def _record_loop(self) -> None:
        """The one writer of outcomes: as soon as answers are in, and again while they come."""
        while True:
            await self._answered.wait()
            self._answered.clear()
            try:
                await self._flush()
            except Exception as exc:  # noqa: BLE001 - rows stay 'sending' -> unknown: never twice
                log.error("outbox: could not record outcomes: %s", type(exc).__name__)
                await asyncio.sleep(RECORD_RETRY)
                self._answered.set()

    async def _recover_loop(self) -> None:
        """Other workers' expired leases, every ``recover_every`` seconds while this run lasts:
        a killed instance's claimed rows go back to pending (its rows in flight: unknown)."""
        while True:
            await asyncio.sleep(self.recover_every)
            try:
                await asyncio.to_thread(self.store.recover)
            except Exception as exc:  # noqa: BLE001 - the next round tries again
                log.error("outbox: could not recover expired leases: %s", type(exc).__name__)

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
