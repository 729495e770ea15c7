"""The status loop's store: every read and write of ``prompt`` rows the loop makes (synchronous).

Each public method is one transaction, retried on transient errors as a whole
(``bot.store.db.retry_transient``: the retry sleeps, and SQLite may wait up to its busy timeout
for another connection's write lock). So the async driver (``bot/staff/loop.py``) never calls
them on the event loop: it runs each in a thread (``asyncio.to_thread``), as the outbox does with
``OutboxStore``. Every write checks the row's state (or its claim stamp) first, so a unit that
runs twice (a connection lost during ``COMMIT``) is harmless.

The rows' life cycle and the policy are in ``bot/staff/loop.py``; the times (slots in working
hours, cadences) are ``LoopConfig``'s, from ``bot/staff/schedule.py``.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from bot.chat.outbound import Outcome
from bot.models import (
    OPEN_PROMPT_STATES,
    Assignment,
    MeasureCadence,
    Prompt,
    PromptState,
    StaffMember,
    StatusReport,
    UTCDateTime,
)
from bot.staff.directory import measure_key
from bot.staff.schedule import add_months, is_working_day, next_slot
from bot.store import db
from bot.store.claims import claim_rows

log = logging.getLogger(__name__)
P = Prompt.__table__

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

    def slot(self, after: datetime) -> datetime:
        return next_slot(after, self.prompt_time, self.tz)

    def working_time(self, after: datetime) -> datetime:
        """``after`` itself when it falls in working hours, else the next slot."""
        return after if self.in_window(after) else self.slot(after)

    def in_window(self, now: datetime) -> bool:
        """Working hours: a working day, from ``prompt_time`` until ``WORKDAY_END`` (local)."""
        local = now.astimezone(self.tz)
        return is_working_day(local.date()) and self.prompt_time <= local.time() < WORKDAY_END


@db.retry_transient()
class PromptStore:
    def __init__(self, engine: Engine, config: LoopConfig):
        self.engine = engine
        self.config = config

    # -- 1. recover ------------------------------------------------------------------------------
    def recover(self, now: datetime) -> int:
        """Prompts stuck in ``sending`` (a crash mid-send) count as sent: never send twice."""
        with Session(self.engine) as s:
            rows = s.exec(
                sa.update(Prompt)
                .where(
                    Prompt.state == PromptState.SENDING,
                    Prompt.claimed_at < now - self.config.in_flight_grace,
                )
                .values(state=PromptState.SENT, last_error="unknown: interrupted")
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
        due = self._due_times(now)
        staff = self._assigned(list(due))
        return {m: (at, staff[m]) for m, at in due.items()}

    def _due_times(self, now: datetime) -> dict[str, datetime]:
        """Measures that fall due by ``now`` and have no open request: measure -> due time.

        One row per measure from the store (aggregates, not the 30,000 assignments of 10,000
        measures): the scan runs in a worker thread, but it shares the interpreter lock with the
        event loop, and reading every assignment held the answers up by tens of milliseconds a
        tick (``bench/soak.py``)."""
        first = sa.func.min(Assignment.created_at, type_=UTCDateTime())
        newest_report = sa.func.max(StatusReport.reported_at, type_=UTCDateTime())
        newest_prompt = sa.func.max(Prompt.due_at, type_=UTCDateTime())
        with Session(self.engine) as s:
            first_assigned = dict(
                s.exec(select(Assignment.measure_number, first).group_by(Assignment.measure_number)).all()
            )
            open_ = set(
                s.exec(
                    select(Prompt.measure_number).where(Prompt.state.in_(OPEN_PROMPT_STATES)).distinct()
                ).all()
            )
            last_report = dict(
                s.exec(
                    select(StatusReport.measure_number, newest_report).group_by(StatusReport.measure_number)
                ).all()
            )
            last_prompt = dict(
                s.exec(select(Prompt.measure_number, newest_prompt).group_by(Prompt.measure_number)).all()
            )
            cadence = dict(s.exec(select(MeasureCadence.measure_number, MeasureCadence.months)).all())
        due = {}
        for measure, assigned_at in first_assigned.items():
            if measure in open_:
                continue
            bases = [t for t in (last_report.get(measure), last_prompt.get(measure)) if t is not None]
            if bases:
                months = cadence.get(measure, self.config.cadence_months)
                at = self.config.slot(add_months(max(bases), months))
            else:
                at = self.config.slot(assigned_at)
            if at <= now:
                due[measure] = at
        return due

    def _assigned(self, measures: list[str]) -> dict[str, list[int]]:
        """The staff ids assigned to each of ``measures``, in chunks of the store's parameter limit."""
        staff: dict[str, list[int]] = defaultdict(list)
        with Session(self.engine) as s:
            for i in range(0, len(measures), 500):
                chunk = measures[i : i + 500]
                query = select(Assignment.measure_number, Assignment.staff_id).where(
                    Assignment.measure_number.in_(chunk)
                )
                for measure, staff_id in s.exec(query.order_by(Assignment.staff_id)).all():
                    staff[measure].append(staff_id)
        return staff

    def scan(self, now: datetime) -> int:
        """Insert ``due`` prompts for the measures that fell due, the longest due first, about
        ``batch`` rows per tick (no more are sent per tick); returns how many were new. Only the
        measures of this tick's batch have their staff read."""
        due = self._due_times(now)
        order = sorted(due, key=lambda m: (due[m], measure_key(m)))
        rows: list[dict] = []
        while order and len(rows) < self.config.batch:
            take, order = order[: self.config.batch], order[self.config.batch :]
            staff = self._assigned(take)
            for m in take:
                if len(rows) >= self.config.batch:
                    break  # the rest next tick: no more can be sent in one tick anyway
                rows += [
                    {"measure_number": m, "staff_id": sid, "due_at": due[m], "state": PromptState.DUE}
                    for sid in staff[m]
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
        stmt = (
            sqlite_insert(P)
            .on_conflict_do_nothing(index_elements=["measure_number", "staff_id", "due_at"])
            .returning(P.c.id)
        )
        with self.engine.begin() as conn:
            return len(conn.execute(stmt, rows).all())

    # -- 3. send -------------------------------------------------------------------------------
    def claim(self, now: datetime, limit: int) -> list[tuple[int, str, int]]:
        """Due prompts -> ``sending`` (``claimed_at`` = ``now``): (id, measure, staff id), by id."""
        with self.engine.begin() as conn:
            rows = claim_rows(
                conn,
                P,
                [P.c.state == PromptState.DUE, P.c.due_at <= now],
                {"state": PromptState.SENDING, "claimed_at": now},
                (P.c.id, P.c.measure_number, P.c.staff_id),
                limit=limit,
            )
        return sorted(tuple(r) for r in rows)

    def staff(self, ids: Iterable[int] | None = None) -> dict[int, StaffMember]:
        """Staff members by id, whom to ask is decided on (``permissions.recipient``): every one
        (``ids`` None), or those of ``ids`` and their deputies. A batch loads only its own: loading
        30,000 members takes over half a second, most of it holding the GIL, which stalls the
        event loop's thread (every resident's answer) although it runs in a thread."""
        with Session(self.engine) as s:
            if ids is None:
                return {m.id: m for m in s.exec(select(StaffMember)).all()}

            def load(wanted: set[int]) -> dict[int, StaffMember]:
                if not wanted:
                    return {}
                query = select(StaffMember).where(StaffMember.id.in_(sorted(wanted)))
                return {m.id: m for m in s.exec(query).all()}

            members = load(set(ids))
            members.update(load({m.deputy_id for m in members.values() if m.deputy_id} - members.keys()))
            return members

    def _schedule_follow_up(self, s: Session, prompt_id: int, sent_at: datetime) -> None:
        s.exec(
            sa.update(Prompt)
            .where(Prompt.id == prompt_id)
            .values(
                sent_at=sent_at,
                remind_at=self.config.working_time(sent_at + timedelta(days=self.config.reminder_days)),
                escalate_at=self.config.working_time(sent_at + timedelta(days=self.config.escalation_days)),
            )
        )

    def settle(self, prompt_id: int, sent_to: int, now: datetime, outcome: Outcome) -> None:
        """A prompt that went out (or may have): ``sent``, with its reminder and escalation times."""
        with Session(self.engine) as s:
            s.exec(
                sa.update(Prompt)
                .where(Prompt.id == prompt_id, Prompt.state == PromptState.SENDING)
                .values(
                    state=PromptState.SENT,
                    sent_to=sent_to,
                    last_error=None if outcome is Outcome.SENT else outcome.value,
                )
            )
            self._schedule_follow_up(s, prompt_id, now)
            s.commit()

    def release(self, prompt_ids: list[int]) -> None:
        """Claimed prompts that were not sent -> ``due`` again."""
        if not prompt_ids:
            return
        with Session(self.engine) as s:
            s.exec(
                sa.update(Prompt)
                .where(Prompt.id.in_(prompt_ids), Prompt.state == PromptState.SENDING)
                .values(state=PromptState.DUE, claimed_at=None)
            )
            s.commit()

    # -- 4. remind and escalate -----------------------------------------------------------------
    def claim_follow_ups(self, stamp: str, due: str, now: datetime, returning, limit=None) -> list:
        """Sent prompts whose ``due`` time passed and whose ``stamp`` is unset: claimed by
        setting ``stamp`` (``reminded_at`` / ``escalated_at``) before anything is sent."""
        with self.engine.begin() as conn:
            return claim_rows(
                conn,
                P,
                [P.c.state == PromptState.SENT, P.c[stamp].is_(None), P.c[due] <= now],
                {stamp: now},
                returning,
                limit=limit,
            )

    def unclaim(self, column: str, prompt_ids: list[int], claimed_at: datetime) -> None:
        """Undo the claim (``reminded_at`` / ``escalated_at`` = ``claimed_at``) of unsent rows."""
        col = getattr(Prompt, column)
        with Session(self.engine) as s:
            s.exec(
                sa.update(Prompt).where(Prompt.id.in_(prompt_ids), col == claimed_at).values({column: None})
            )
            s.commit()
