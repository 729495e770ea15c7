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
"""

from __future__ import annotations

import logging
import time as _time
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from bot.chat.outbound import Outcome, Sender
from bot.models import Assignment, MeasureCadence, Prompt, StaffMember, StatusReport, UTCDateTime
from bot.residents.dialogue import Reply
from bot.staff.desk import StaffDesk
from bot.staff.directory import measure_key
from bot.staff.permissions import is_away, recipient
from bot.staff.schedule import add_months, is_working_day, next_slot
from bot.store import db
from bot.store.claims import claim_rows

log = logging.getLogger(__name__)
P = Prompt.__table__

OPEN_STATES = ("due", "sending", "sent")
WORKDAY_END = time(18, 0)  # nothing is sent to staff after this local time


@dataclass(frozen=True)
class LoopConfig:
    cadence_months: int = 3
    prompt_time: time = time(9, 0)
    timezone: str = "Europe/Berlin"
    reminder_days: int = 7
    escalation_days: int = 14
    in_flight_grace: timedelta = timedelta(minutes=10)
    batch: int = 600  # prompts or reminders sent per tick at most (a tick runs every minute)

    @classmethod
    def from_settings(cls, settings) -> LoopConfig:
        return cls(
            cadence_months=settings.status_cadence_months,
            prompt_time=settings.prompt_time,
            timezone=settings.timezone,
            reminder_days=settings.reminder_days,
            escalation_days=settings.escalation_days,
        )

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


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


@db.retry_transient("_claim", "_staff", "_settle", "_release", "_unclaim", "_claim_follow_ups")
class StatusLoop:
    def __init__(self, engine: Engine, desk: StaffDesk, config: LoopConfig):
        self.engine = engine
        self.desk = desk
        self.config = config
        self.tz = config.tz

    # -- time ----------------------------------------------------------------------------------
    def slot(self, after: datetime) -> datetime:
        return next_slot(after, self.config.prompt_time, self.tz)

    def working_time(self, after: datetime) -> datetime:
        """``after`` itself when it falls in working hours, else the next slot."""
        return after if self.in_window(after) else self.slot(after)

    def in_window(self, now: datetime) -> bool:
        """Working hours: a working day, from ``prompt_time`` until ``WORKDAY_END`` (local)."""
        local = now.astimezone(self.tz)
        return is_working_day(local.date()) and self.config.prompt_time <= local.time() < WORKDAY_END

    # -- 1. recover ------------------------------------------------------------------------------
    def recover(self, now: datetime) -> int:
        """Prompts stuck in ``sending`` (a crash mid-send) count as sent: never send twice."""
        with Session(self.engine) as s:
            rows = s.exec(
                sa.update(Prompt)
                .where(Prompt.state == "sending", Prompt.claimed_at < now - self.config.in_flight_grace)
                .values(state="sent", last_error="unknown: interrupted")
                .returning(Prompt.id, Prompt.claimed_at)
            ).all()
            for prompt_id, claimed in rows:
                self._schedule_follow_up(s, prompt_id, claimed)
            s.commit()
        if rows:
            log.warning("%d status prompts were in flight at a crash; taken as sent", len(rows))
        return len(rows)

    # -- 2. scan -------------------------------------------------------------------------------
    def due_measures(self, now: datetime) -> dict[str, tuple[datetime, list[int]]]:
        """Measures that fall due by ``now``: measure -> (due time, assigned staff ids)."""
        with Session(self.engine) as s:
            assigned: dict[str, list[int]] = defaultdict(list)
            first_assigned: dict[str, datetime] = {}
            for measure, staff_id, created in s.exec(
                select(Assignment.measure_number, Assignment.staff_id, Assignment.created_at)
            ).all():
                assigned[measure].append(staff_id)
                if measure not in first_assigned or created < first_assigned[measure]:
                    first_assigned[measure] = created
            open_ = set(
                s.exec(select(Prompt.measure_number).where(Prompt.state.in_(OPEN_STATES)).distinct()).all()
            )
            last_report = dict(
                s.exec(
                    select(
                        StatusReport.measure_number,
                        sa.func.max(StatusReport.reported_at, type_=UTCDateTime()),
                    ).group_by(StatusReport.measure_number)
                ).all()
            )
            last_prompt = dict(
                s.exec(
                    select(Prompt.measure_number, sa.func.max(Prompt.due_at, type_=UTCDateTime())).group_by(
                        Prompt.measure_number
                    )
                ).all()
            )
            cadence = dict(s.exec(select(MeasureCadence.measure_number, MeasureCadence.months)).all())
        due = {}
        for measure, staff_ids in assigned.items():
            if measure in open_:
                continue
            bases = [t for t in (last_report.get(measure), last_prompt.get(measure)) if t is not None]
            if bases:
                months = cadence.get(measure, self.config.cadence_months)
                at = self.slot(add_months(max(bases), months))
            else:
                at = self.slot(first_assigned[measure])
            if at <= now:
                due[measure] = (at, staff_ids)
        return due

    def scan(self, now: datetime) -> int:
        """Insert ``due`` prompts for the measures that fell due, the longest due first, about
        ``batch`` rows per tick (no more are sent per tick); returns how many were new."""
        due = self.due_measures(now)
        rows = []
        for m, (at, staff_ids) in sorted(due.items(), key=lambda kv: (kv[1][0], measure_key(kv[0]))):
            if len(rows) >= self.config.batch:
                break  # the rest next tick: no more can be sent in one tick anyway
            rows += [
                {"measure_number": m, "staff_id": sid, "due_at": at, "state": "due"} for sid in staff_ids
            ]
        if not rows:
            return 0
        if self.engine.dialect.name == "postgresql":
            # One statement over arrays: many times faster than a batch of row inserts.
            stmt = sa.text(
                "INSERT INTO prompt (measure_number, staff_id, due_at, state) "
                "SELECT m, s, d, 'due' FROM unnest(CAST(:m AS text[]), CAST(:s AS integer[]), "
                "CAST(:d AS timestamptz[])) AS t(m, s, d) "
                "ON CONFLICT (measure_number, staff_id, due_at) DO NOTHING"
            )
            params = {
                "m": [r["measure_number"] for r in rows],
                "s": [r["staff_id"] for r in rows],
                "d": [r["due_at"] for r in rows],
            }
            with self.engine.begin() as conn:
                return conn.execute(stmt, params).rowcount
        table = Prompt.__table__
        stmt = (
            sqlite_insert(table)
            .on_conflict_do_nothing(index_elements=["measure_number", "staff_id", "due_at"])
            .returning(table.c.id)
        )
        with self.engine.begin() as conn:
            return len(conn.execute(stmt, rows).all())

    # -- 3. send -------------------------------------------------------------------------------
    def _claim(self, now: datetime, limit: int) -> list[tuple[int, str, int]]:
        with self.engine.begin() as conn:
            rows = claim_rows(
                conn,
                P,
                [P.c.state == "due", P.c.due_at <= now],
                {"state": "sending", "claimed_at": now},
                (P.c.id, P.c.measure_number, P.c.staff_id),
                limit=limit,
            )
        return sorted(tuple(r) for r in rows)

    def _staff(self) -> dict[int, StaffMember]:
        with Session(self.engine) as s:
            return {m.id: m for m in s.exec(select(StaffMember)).all()}

    def recipient(self, member: StaffMember, staff: dict[int, StaffMember], today) -> StaffMember | None:
        """The person to ask (``permissions.recipient``): the member, or their deputy."""
        return recipient(member, staff.get(member.deputy_id) if member.deputy_id else None, today)

    def _schedule_follow_up(self, s: Session, prompt_id: int, sent_at: datetime) -> None:
        s.exec(
            sa.update(Prompt)
            .where(Prompt.id == prompt_id)
            .values(
                sent_at=sent_at,
                remind_at=self.working_time(sent_at + timedelta(days=self.config.reminder_days)),
                escalate_at=self.working_time(sent_at + timedelta(days=self.config.escalation_days)),
            )
        )

    def _settle(self, prompt_id: int, sent_to: int, now: datetime, outcome: Outcome) -> None:
        with Session(self.engine) as s:
            s.exec(
                sa.update(Prompt)
                .where(Prompt.id == prompt_id, Prompt.state == "sending")
                .values(
                    state="sent",
                    sent_to=sent_to,
                    last_error=None if outcome is Outcome.SENT else outcome.value,
                )
            )
            self._schedule_follow_up(s, prompt_id, now)
            s.commit()

    def _release(self, prompt_ids: list[int]) -> None:
        if not prompt_ids:
            return
        with Session(self.engine) as s:
            s.exec(
                sa.update(Prompt)
                .where(Prompt.id.in_(prompt_ids), Prompt.state == "sending")
                .values(state="due", claimed_at=None)
            )
            s.commit()

    async def send_prompts(self, now: datetime, sender: Sender, result: TickResult) -> None:
        claimed = self._claim(now, self.config.batch)
        if not claimed:
            return
        staff = self._staff()
        today = now.astimezone(self.tz).date()
        asked: set[tuple[str, int]] = set()
        unsendable: list[int] = []
        for i, (prompt_id, measure, staff_id) in enumerate(claimed):
            member = staff.get(staff_id)
            to = self.recipient(member, staff, today) if member else None
            if to is None:
                unsendable.append(prompt_id)
                continue
            if (measure, to.id) in asked:  # a deputy who is also assigned: one prompt is enough
                self._settle(prompt_id, to.id, now, Outcome.SENT)
                continue
            reply = self.desk.prompt(to, measure, standing_in_for=member if to.id != member.id else None)
            outcome = (await sender.send(to.chat_id, reply)).outcome
            result.outcomes[outcome.value] = result.outcomes.get(outcome.value, 0) + 1
            if outcome is Outcome.RETRY:
                self._release([p for p, _m, _s in claimed[i:]])
                result.paused = True
                break
            self._settle(prompt_id, to.id, now, outcome)
            asked.add((measure, to.id))
            if outcome is Outcome.SENT or outcome is Outcome.UNKNOWN:
                result.prompts += 1
            else:
                result.failed += 1
                log.warning("a status prompt could not be delivered: %s", outcome.value)
        self._release(unsendable)
        result.deferred += len(unsendable)

    # -- 4. remind and escalate -----------------------------------------------------------------
    def _claim_follow_ups(self, stamp: str, due: str, now: datetime, returning, limit=None) -> list:
        """Sent prompts whose ``due`` time passed and whose ``stamp`` is unset: claimed by
        setting ``stamp`` (``reminded_at`` / ``escalated_at``) before anything is sent."""
        with self.engine.begin() as conn:
            return claim_rows(
                conn,
                P,
                [P.c.state == "sent", P.c[stamp].is_(None), P.c[due] <= now],
                {stamp: now},
                returning,
                limit=limit,
            )

    async def send_reminders(self, now: datetime, sender: Sender, result: TickResult) -> None:
        rows = self._claim_follow_ups(
            "reminded_at", "remind_at", now, (P.c.id, P.c.measure_number, P.c.staff_id, P.c.sent_to),
            limit=self.config.batch,
        )  # fmt: skip
        if not rows:
            return
        staff = self._staff()
        today = now.astimezone(self.tz).date()
        rows = sorted(rows)
        for i, (_pid, measure, staff_id, sent_to) in enumerate(rows):
            member = staff.get(staff_id)
            to = staff.get(sent_to) if sent_to else None
            if to is None or to.chat_id is None or is_away(to, today):
                to = self.recipient(member, staff, today) if member else None
            if to is None:
                continue
            reply = self.desk.prompt(
                to, measure, reminder=True, standing_in_for=member if to.id != member.id else None
            )
            outcome = (await sender.send(to.chat_id, reply)).outcome
            result.outcomes[outcome.value] = result.outcomes.get(outcome.value, 0) + 1
            if outcome is Outcome.RETRY:
                # Certainly not delivered (429, 503, no connection): this one and the rest of the
                # batch are unclaimed and go out on a later tick.
                self._unclaim("reminded_at", [r[0] for r in rows[i:]], now)
                result.paused = True
                break
            result.reminders += 1

    async def send_escalations(self, now: datetime, sender: Sender, result: TickResult) -> None:
        rows = self._claim_follow_ups(
            "escalated_at", "escalate_at", now, (P.c.id, P.c.measure_number, P.c.staff_id, P.c.sent_at)
        )
        if not rows:
            return
        staff = self._staff()
        items = sorted(
            {(m, sid): sent for _id, m, sid, sent in rows}.items(), key=lambda kv: (kv[0][0], kv[0][1])
        )
        digest = [(m, staff[sid], sent) for (m, sid), sent in items if sid in staff]
        coordinators = [m for m in staff.values() if m.role == "coordinator" and m.chat_id is not None]
        if not coordinators:
            log.warning("%d measures are overdue, but no coordinator is linked to hear of it", len(digest))
        reached = False
        for coordinator in coordinators:
            reply: Reply = self.desk.escalation(coordinator, digest, self.config.escalation_days)
            outcome = (await sender.send(coordinator.chat_id, reply)).outcome
            result.outcomes[outcome.value] = result.outcomes.get(outcome.value, 0) + 1
            if outcome is Outcome.RETRY:
                result.paused = True
                if not reached:  # nobody has (or may have) the digest: it goes out on a later tick
                    self._unclaim("escalated_at", [r[0] for r in rows], now)
                break
            reached = True
            result.escalations += 1

    def _unclaim(self, column: str, prompt_ids: list[int], claimed_at: datetime) -> None:
        """Undo the claim (``reminded_at`` / ``escalated_at`` = ``claimed_at``) of unsent rows."""
        col = getattr(Prompt, column)
        with Session(self.engine) as s:
            s.exec(
                sa.update(Prompt).where(Prompt.id.in_(prompt_ids), col == claimed_at).values({column: None})
            )
            s.commit()

    # -- the tick ------------------------------------------------------------------------------
    async def tick(self, now: datetime, sender: Sender) -> TickResult:
        result = TickResult()
        started = _time.perf_counter()
        result.recovered = self.recover(now)
        result.created = self.scan(now)
        result.scan_seconds = _time.perf_counter() - started
        result.in_window = self.in_window(now)
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
