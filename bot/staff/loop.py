"""The status loop: prompts fall due, are sent, reminded and escalated. One ``tick`` at a time.

Everything is derived from rows in the store, so a restart loses and repeats nothing, and several
instances can tick against one PostgreSQL:

1. **Recover.** A prompt left ``sending`` for longer than ``in_flight_grace`` (the process died
   during the send) is taken as sent: the Bot API cannot tell whether it arrived, and a duplicate
   prompt is worse than relying on the reminder that follows anyway. (At most once.)
2. **Scan.** For every measure with an assigned person and no open prompt, the next due time is
   ``next_slot(base + cadence)``: ``base`` is the newest status report or prompt of the measure;
   a measure never reported nor prompted is due at the first slot after its first assignment.
   Slots are working days in Saxony-Anhalt at ``prompt_time`` (Europe/Berlin). When due, one
   ``due`` row per assigned person is inserted (about ``batch`` rows a tick, the longest due
   first: no more can be sent in a tick anyway); a unique key (measure, person, due time) makes a
   second instance's insert a no-op.
3. **Send** (only in working hours: a working day, from ``prompt_time`` to 18:00 local). ``due`` rows are
   claimed with ``bot.store.claims.claim_rows`` (``FOR UPDATE SKIP LOCKED`` on PostgreSQL: two
   instances never claim the same row, nor wait for each other); ``claimed_at`` plus
   ``in_flight_grace`` is the claim's lease, sent to the
   person or, while they are away, to their linked deputy; with nobody to send to, the row goes
   back to ``due`` and waits. A sent row gets its ``remind_at`` and ``escalate_at`` (the times ``reminder_days`` and ``escalation_days`` later,
   moved to the next slot when that falls outside working hours).
4. **Remind** and **escalate**: rows past ``remind_at`` / ``escalate_at`` are claimed the same way,
   by setting ``reminded_at`` / ``escalated_at`` first, then the reminder goes to the person and one digest
   per tick to every linked coordinator.

An answer (any status record of the measure) closes all its open prompts.

**Faults** (the outcomes of ``handlers/sender.py``, by the policy of ``handlers/request.py``, which
has already retried with backoff what it may): a message that certainly did not reach Telegram
(``Outcome.RETRY``: HTTP 429, HTTP 503 or the Bot API's own 5xx error, no connection) stops the
tick's sending; the unsent prompts go back to ``due`` and unsent reminders and digests are
unclaimed, so the next tick (a minute later) sends them. A message that may have arrived
(``Outcome.UNKNOWN``: a timeout, a connection lost after the request was written, a proxy's
500/502/504) counts as sent, with ``last_error`` "unknown": at most once; the reminder follows.

**Pace.** Every prompt, reminder and digest waits for a slot of the Telegram budget that the
newsletters and every other instance share (``bot/store/budget.py``), so a newsletter and a
morning's prompts together stay within ``ANKOMMEN_NEWSLETTER_RATE``. At that pace a batch takes
tens of seconds, so prompts and reminders are claimed ``CLAIM_GROUP`` (16) at a time: a process
killed mid-batch leaves at most 16 claimed and unsent, which step 1 takes as sent.

**The event loop never waits on the store.** ``StatusLoop`` is the async driver; every read and
write of the rows is a method of ``PromptStore`` (``bot/staff/prompt_store.py``: synchronous, one
retried transaction each), run in a thread with ``asyncio.to_thread``, and so is rendering a
prompt (it reads the measure's last status). A store that is slow, locked by another writer, or
retrying with backoff holds up the tick, never the bot's other updates. Who is asked (the
member or their deputy) is ``bot.staff.permissions.recipient``, the deputy rule the desk also
uses for who may answer.
"""

from __future__ import annotations

import asyncio
import logging
import time as _time
from dataclasses import dataclass, field
from datetime import date, datetime

from sqlalchemy.engine import Engine

from bot.chat.outbound import Outcome, Sender
from bot.chat.replies import Reply
from bot.models import StaffMember
from bot.staff.desk import StaffDesk
from bot.staff.permissions import is_coordinator, reachable, recipient
from bot.staff.prompt_store import LoopConfig, P, PromptStore
from bot.store.budget import Budget

log = logging.getLogger(__name__)

CLAIM_GROUP = 16  # prompts or reminders claimed at once: at most these are lost to a kill -9


@dataclass
class TickResult:
    recovered: int = 0
    created: int = 0
    prompts: int = 0
    reminders: int = 0
    escalations: int = 0
    failed: int = 0
    deferred: int = 0
    paused: bool = False
    in_window: bool = False
    scan_seconds: float = 0.0
    send_seconds: float = 0.0
    outcomes: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict:
        return dict(self.__dict__)


def _asked(member: StaffMember | None, staff: dict[int, StaffMember], today: date) -> StaffMember | None:
    """Whom to ask about ``member``'s measure (``permissions.recipient``); None: nobody today."""
    if member is None:
        return None
    return recipient(member, staff.get(member.deputy_id) if member.deputy_id else None, today)


class StatusLoop:
    """The async driver: ``await tick(now, sender)``; the store work runs in threads."""

    def __init__(self, engine: Engine, desk: StaffDesk, config: LoopConfig, budget: Budget | None = None):
        self.engine = engine
        self.budget = budget  # the Telegram budget shared with the outbox (None: unpaced)
        self.desk = desk
        self.config = config
        self.tz = config.tz
        self.store = PromptStore(engine, config)

    async def _send(self, sender: Sender, chat_id: int, reply: Reply, result: TickResult) -> Outcome:
        if self.budget is not None:  # one slot of the budget every instance shares
            await self.budget.wait()
        outcome = (await sender.send(chat_id, reply)).outcome
        result.outcomes[outcome.value] = result.outcomes.get(outcome.value, 0) + 1
        return outcome

    async def _prompt(self, to: StaffMember, member: StaffMember, measure: str, **kw) -> Reply:
        """The prompt for ``to`` (rendered in a thread: it reads the measure's last status)."""
        standing_in_for = member if to.id != member.id else None
        return await asyncio.to_thread(self.desk.prompt, to, measure, standing_in_for=standing_in_for, **kw)

    # -- 3. send -------------------------------------------------------------------------------
    async def send_prompts(self, now: datetime, sender: Sender, result: TickResult) -> None:
        """Up to ``batch`` prompts, claimed ``CLAIM_GROUP`` at a time: sending waits for the
        budget's slots (a batch takes tens of seconds at 30 a second), and a row claimed is
        taken as sent if the process dies (step 1), so few may be claimed and not yet sent."""
        left, unsendable = self.config.batch, []
        asked: set[tuple[str, int]] = set()  # (measure, who was asked) over the whole batch
        while left > 0 and not result.paused:
            claimed = await asyncio.to_thread(self.store.claim, now, min(CLAIM_GROUP, left))
            if not claimed:
                break
            left -= len(claimed)
            unsendable += await self._send_claimed(claimed, now, sender, result, asked)
        # back to ``due`` only now: released at once, they would be claimed again this tick
        await asyncio.to_thread(self.store.release, unsendable)
        result.deferred += len(unsendable)

    async def _send_claimed(
        self, claimed: list, now: datetime, sender: Sender, result: TickResult, asked: set[tuple[str, int]]
    ) -> list[int]:
        """Send the prompts of ``claimed``; returns those with nobody to send to."""
        store = self.store
        staff = await asyncio.to_thread(store.staff, {staff_id for _p, _m, staff_id in claimed})
        today = now.astimezone(self.tz).date()
        unsendable: list[int] = []
        for i, (prompt_id, measure, staff_id) in enumerate(claimed):
            member = staff.get(staff_id)
            to = _asked(member, staff, today)
            if to is None:
                unsendable.append(prompt_id)
                continue
            if (measure, to.id) in asked:  # a deputy who is also assigned: one prompt is enough
                await asyncio.to_thread(store.settle, prompt_id, to.id, now, Outcome.SENT)
                continue
            reply = await self._prompt(to, member, measure)
            outcome = await self._send(sender, to.chat_id, reply, result)
            if outcome is Outcome.RETRY:
                await asyncio.to_thread(store.release, [p for p, _m, _s in claimed[i:]])
                result.paused = True
                break
            await asyncio.to_thread(store.settle, prompt_id, to.id, now, outcome)
            asked.add((measure, to.id))
            if outcome is Outcome.SENT or outcome is Outcome.UNKNOWN:
                result.prompts += 1
            else:
                result.failed += 1
                log.warning("a status prompt could not be delivered: %s", outcome.value)
        return unsendable

    # -- 4. remind and escalate -----------------------------------------------------------------
    async def send_reminders(self, now: datetime, sender: Sender, result: TickResult) -> None:
        """Up to ``batch`` reminders, claimed ``CLAIM_GROUP`` at a time, as the prompts."""
        left = self.config.batch
        while left > 0 and not result.paused:
            rows = await asyncio.to_thread(
                self.store.claim_follow_ups,
                "reminded_at", "remind_at", now, (P.c.id, P.c.measure_number, P.c.staff_id, P.c.sent_to),
                min(CLAIM_GROUP, left),
            )  # fmt: skip
            if not rows:
                return
            left -= len(rows)
            await self._remind(rows, now, sender, result)

    async def _remind(self, rows: list, now: datetime, sender: Sender, result: TickResult) -> None:
        staff = await asyncio.to_thread(self.store.staff, {r[2] for r in rows} | {r[3] for r in rows if r[3]})
        today = now.astimezone(self.tz).date()
        rows = sorted(rows)
        for i, (_pid, measure, staff_id, sent_to) in enumerate(rows):
            member = staff.get(staff_id)
            to = staff.get(sent_to) if sent_to else None
            if to is None or not reachable(to, today):
                to = _asked(member, staff, today)
            if to is None:
                continue
            reply = await self._prompt(to, member, measure, reminder=True)
            outcome = await self._send(sender, to.chat_id, reply, result)
            if outcome is Outcome.RETRY:
                # Certainly not delivered (429, 503, no connection): this one and the rest of the
                # batch are unclaimed and go out on a later tick.
                await asyncio.to_thread(self.store.unclaim, "reminded_at", [r[0] for r in rows[i:]], now)
                result.paused = True
                break
            result.reminders += 1

    async def send_escalations(self, now: datetime, sender: Sender, result: TickResult) -> None:
        rows = await asyncio.to_thread(
            self.store.claim_follow_ups,
            "escalated_at", "escalate_at", now, (P.c.id, P.c.measure_number, P.c.staff_id, P.c.sent_at),
        )  # fmt: skip
        if not rows:
            return
        staff = await asyncio.to_thread(self.store.staff)
        items = sorted(
            {(m, sid): sent for _id, m, sid, sent in rows}.items(), key=lambda kv: (kv[0][0], kv[0][1])
        )
        digest = [(m, staff[sid], sent) for (m, sid), sent in items if sid in staff]
        coordinators = [m for m in staff.values() if is_coordinator(m) and m.chat_id is not None]
        if not coordinators:
            log.warning("%d measures are overdue, but no coordinator is linked to hear of it", len(digest))
        reached = False
        for coordinator in coordinators:
            reply = self.desk.escalation(coordinator, digest, self.config.escalation_days)  # no store
            outcome = await self._send(sender, coordinator.chat_id, reply, result)
            if outcome is Outcome.RETRY:
                result.paused = True
                if not reached:  # nobody has (or may have) the digest: it goes out on a later tick
                    await asyncio.to_thread(self.store.unclaim, "escalated_at", [r[0] for r in rows], now)
                break
            reached = True
            result.escalations += 1

    # -- the tick ------------------------------------------------------------------------------
    async def tick(self, now: datetime, sender: Sender) -> TickResult:
        result = TickResult()
        started = _time.perf_counter()
        result.recovered = await asyncio.to_thread(self.store.recover, now)
        result.created = await asyncio.to_thread(self.store.scan, now)
        result.scan_seconds = _time.perf_counter() - started
        result.in_window = self.config.in_window(now)
        if result.in_window:
            started = _time.perf_counter()
            await self.send_prompts(now, sender, result)
            if not result.paused:
                await self.send_reminders(now, sender, result)
            if not result.paused:
                await self.send_escalations(now, sender, result)
            result.send_seconds = _time.perf_counter() - started
        if result.created or result.prompts or result.reminders or result.escalations or result.failed:
            log.info(
                "status tick: %d new due, %d prompts, %d reminders, %d escalation digests, %d failed, %d waiting",
                result.created, result.prompts, result.reminders, result.escalations, result.failed, result.deferred,
            )  # fmt: skip
        return result
