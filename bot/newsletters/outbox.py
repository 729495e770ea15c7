"""The outbox worker: delivers newsletter issues within Telegram's limits, never twice, never lost.

The rows' states, claims, leases and recovery are ``bot/newsletters/outbox_store.py``'s (a
synchronous store this worker runs in threads); the spacing of requests is
``bot/newsletters/pacer.py``'s. This module drives them:

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
* **Rate.** One pacer spaces all requests of this worker at ``1/rate`` seconds, without bursts;
  the store write that marks the next group runs while the current group is sent, so writes do
  not stall the pace. A chat gets at most one message per ``per_chat_interval`` (1 s), counted
  from the answer to the previous one, from this worker; up to ``concurrency`` requests are in
  flight so latency does not cap throughput. Several workers (instances, or the CLI next to the
  bot) each hold their own rate: set ``ANKOMMEN_NEWSLETTER_RATE`` to the total divided by their
  number.
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

from sqlalchemy.engine import Engine

from bot.chat.markup import SplitError, split_html
from bot.chat.outbound import Attachment, Outcome, Sender, SendResult
from bot.chat.replies import Reply
from bot.models import NewsletterIssue
from bot.newsletters.issues import finish_done
from bot.newsletters.outbox_store import Job, OutboxStore, worker_id
from bot.newsletters.pacer import ChatSpacing, Pacer

log = logging.getLogger(__name__)

FLUSH_INTERVAL = 0.1
LOG_INTERVAL = 5.0

Render = Callable[[NewsletterIssue, str], tuple[Reply, Attachment | None]]
CONCURRENCY = 16  # deliveries in flight at once (each with its own connection)


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
        concurrency: int = CONCURRENCY,
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
        self._spacing = ChatSpacing(per_chat_interval, clock)
        self._sem = asyncio.Semaphore(concurrency)
        self._resume_at = 0.0
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

    def _mark(self, group: list[Job]) -> asyncio.Task:
        return asyncio.create_task(asyncio.to_thread(self.store.mark_sending, [j.id for j in group]))

    async def _dispatch(self, jobs: list[Job], stop: asyncio.Event) -> None:
        queue = deque(jobs)
        ahead: tuple[list[Job], asyncio.Task] | None = None  # the next group, being marked
        while queue or ahead:
            if ahead is None:
                group = self._spacing.pick(queue, set(), self.group)
                if not group:
                    await asyncio.sleep(self._spacing.wait_for(queue))
                    continue
                ahead = (group, self._mark(group))
            group, marking = ahead
            marked = await marking
            group = [j for j in group if j.id in marked]
            if stop.is_set():
                await asyncio.to_thread(self.store.release, [j.id for j in group])
                return
            nxt = self._spacing.pick(queue, {j.chat_id for j in group}, self.group)
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
                self._spacing.started(job.chat_id)
                task = asyncio.create_task(self._send(job))
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)
        self._spacing.prune()

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
            self._spacing.answered(job.chat_id)
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
