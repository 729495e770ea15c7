"""What staff said: the status records (append-only) and the answer being given (the draft).

A record closes all open prompts of its measure (``OPEN_PROMPT_STATES``) and drops the person's
draft, in one transaction. Drafts live in the store so that a restart, or another instance behind
the load balancer, loses nothing of an answer in progress.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from bot.models import (
    OPEN_PROMPT_STATES,
    STATUS_VALUES,
    Prompt,
    PromptState,
    StaffMember,
    StatusDraft,
    StatusReport,
    utcnow,
)
from bot.staff.errors import StaffError
from bot.store import db

MAX_NOTE = 500


@db.retry_transient()
class StatusRecords:
    def __init__(self, engine: Engine, clock: Callable[[], datetime] = utcnow):
        self.engine = engine
        self.clock = clock

    # -- status records -------------------------------------------------------------------------
    def record(
        self,
        member: StaffMember,
        measure: str,
        status: str,
        *,
        progress: int | None = None,
        note: str | None = None,
        corrects_id: int | None = None,
        now: datetime | None = None,
    ) -> StatusReport:
        """Append a status record, close the measure's open prompts and drop the draft."""
        if status not in STATUS_VALUES:
            raise StaffError(f"unknown status {status!r}")
        if progress is not None and not 0 <= progress <= 100:
            raise StaffError("progress is a percentage from 0 to 100")
        now = now or self.clock()
        with Session(self.engine) as s:
            report = StatusReport(
                measure_number=measure,
                status=status,
                progress=progress,
                note=(note or "").strip()[:MAX_NOTE] or None,
                staff_id=member.id,
                reported_at=now,
                corrects_id=corrects_id,
            )
            s.add(report)
            s.exec(
                sa.update(Prompt)
                .where(Prompt.measure_number == measure, Prompt.state.in_(OPEN_PROMPT_STATES))
                .values(state=PromptState.ANSWERED, answered_at=now)
            )
            s.exec(sa.delete(StatusDraft).where(StatusDraft.staff_id == member.id))
            s.commit()
            s.refresh(report)
            return report

    def latest(self, measure: str) -> StatusReport | None:
        with Session(self.engine) as s:
            return s.exec(
                select(StatusReport)
                .where(StatusReport.measure_number == measure)
                .order_by(StatusReport.id.desc())
            ).first()

    def report_by_id(self, report_id: int) -> StatusReport | None:
        with Session(self.engine) as s:
            return s.get(StatusReport, report_id)

    # -- drafts (an answer being given) ---------------------------------------------------------
    def draft(self, staff_id: int) -> StatusDraft | None:
        with Session(self.engine) as s:
            return s.get(StatusDraft, staff_id)

    def save_draft(self, draft: StatusDraft, *, now: datetime | None = None) -> StatusDraft:
        draft.updated_at = now or self.clock()
        with Session(self.engine) as s:
            merged = s.merge(draft)
            s.commit()
            s.refresh(merged)
            return merged

    def drop_draft(self, staff_id: int) -> None:
        with Session(self.engine) as s:
            s.exec(sa.delete(StatusDraft).where(StatusDraft.staff_id == staff_id))
            s.commit()
