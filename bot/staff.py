"""Staff: who reports on which measure, onboarding by one-time invite, and the status records.

Staff data is personal. It lives only in the store (added by the CLI or imported from a CSV the
operator keeps outside the repository), never in ``data/``.

Onboarding: ``invite`` makes a random code (``secrets``, 144 bits) and stores only its SHA-256;
the deep link ``https://t.me/<bot>?start=<code>`` carries it. ``link`` accepts a code once, before
it expires, and ties the chat to the staff member. Wrong codes are throttled by the caller.

Who may report: a linked staff member for the measures assigned to them, a deputy for the
measures of someone who is away today, and coordinators for every measure.
"""

from __future__ import annotations

import csv
import hashlib
import re
import secrets
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from enum import StrEnum
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from bot import db
from bot.languages import SUPPORTED_LANGUAGES
from bot.models import (
    STATUS_VALUES,
    Assignment,
    MeasureCadence,
    Prompt,
    StaffInvite,
    StaffMember,
    StatusDraft,
    StatusReport,
    utcnow,
)

ROLES = ("staff", "coordinator")
CODE_PREFIX = "s"  # deep-link codes for staff start with this
CODE_BYTES = 18  # 144 random bits: 24 URL-safe characters after the prefix
# What ``invite`` makes, exactly. Any other /start payload (a poster's deep link such as
# ``?start=sprachcafe``) is a resident's and goes to the language picker, never counted as a
# wrong code.
_CODE = re.compile(re.escape(CODE_PREFIX) + "[A-Za-z0-9_-]{" + str(CODE_BYTES * 4 // 3) + "}")
MAX_NOTE = 500
MAX_NAME = 200
REMOVED = "(removed)"


class StaffError(ValueError):
    """A refused staff operation; the message says what is wrong."""


class LinkOutcome(StrEnum):
    LINKED = "linked"
    INVALID = "invalid"
    USED = "used"
    EXPIRED = "expired"
    TAKEN = "taken"  # this chat already belongs to another staff member


@dataclass
class StaffView:
    id: int
    name: str
    organisation: str
    role: str
    language: str
    linked: bool
    deputy_id: int | None
    away_until: date | None
    measures: list[str] = field(default_factory=list)


def hash_code(code: str) -> str:
    return hashlib.sha256(code.encode()).hexdigest()


def looks_like_code(payload: str) -> bool:
    """Whether a /start payload has the shape of a staff invitation code (see ``_CODE``)."""
    return _CODE.fullmatch(payload) is not None


def is_away(member: StaffMember, today: date) -> bool:
    return member.away_until is not None and today <= member.away_until


@db.retry_transient()
class StaffDirectory:
    def __init__(self, engine: Engine, measures: set[str] | dict):
        self.engine = engine
        self.measures = set(measures)

    # -- administration (CLI) ----------------------------------------------------------------
    def add(
        self,
        name: str,
        organisation: str,
        *,
        role: str = "staff",
        language: str = "de",
        deputy_id: int | None = None,
    ) -> StaffMember:
        name, organisation = name.strip(), organisation.strip()
        if not name or not organisation or len(name) > MAX_NAME or len(organisation) > MAX_NAME:
            raise StaffError(f"name and organisation are needed, each at most {MAX_NAME} characters")
        if role not in ROLES:
            raise StaffError(f"the role is one of {', '.join(ROLES)}; got {role!r}")
        if language not in SUPPORTED_LANGUAGES:
            raise StaffError(f"the language is one of {', '.join(SUPPORTED_LANGUAGES)}; got {language!r}")
        with Session(self.engine) as s:
            if deputy_id is not None and s.get(StaffMember, deputy_id) is None:
                raise StaffError(f"there is no staff member {deputy_id} to be the deputy")
            member = StaffMember(
                name=name, organisation=organisation, role=role, language=language, deputy_id=deputy_id
            )
            s.add(member)
            s.commit()
            s.refresh(member)
            return member

    def _member(self, s: Session, staff_id: int) -> StaffMember:
        member = s.get(StaffMember, staff_id)
        if member is None:
            raise StaffError(f"there is no staff member {staff_id}")
        return member

    def parse_measures(self, raw: str) -> list[str]:
        numbers = [n.strip() for n in raw.replace(";", ",").split(",") if n.strip()]
        unknown = [n for n in numbers if n not in self.measures]
        if unknown:
            raise StaffError(f"no such measure: {', '.join(unknown)} (see `ankommen measures`)")
        if not numbers:
            raise StaffError("name at least one measure, e.g. 4.3,4.14")
        return list(dict.fromkeys(numbers))

    def assign(self, staff_id: int, measures: list[str]) -> list[str]:
        """Assign measures; returns the ones that were new."""
        unknown = [m for m in measures if m not in self.measures]
        if unknown:
            raise StaffError(f"no such measure: {', '.join(unknown)}")
        with Session(self.engine) as s:
            self._member(s, staff_id)
            have = set(s.exec(select(Assignment.measure_number).where(Assignment.staff_id == staff_id)).all())
            new = [m for m in measures if m not in have]
            for m in new:
                s.add(Assignment(staff_id=staff_id, measure_number=m))
            s.commit()
            return new

    def unassign(self, staff_id: int, measures: list[str]) -> int:
        with Session(self.engine) as s:
            self._member(s, staff_id)
            result = s.exec(
                sa.delete(Assignment).where(
                    Assignment.staff_id == staff_id, Assignment.measure_number.in_(measures)
                )
            )
            s.commit()
            return result.rowcount

    def remove(self, staff_id: int) -> None:
        """Erase a person: their name, chat link, invites, drafts, assignments and open requests
        go; the status records they made stay (the report needs them) under "(removed)"."""
        with Session(self.engine) as s:
            member = self._member(s, staff_id)
            s.exec(sa.delete(StaffInvite).where(StaffInvite.staff_id == staff_id))
            s.exec(sa.delete(StatusDraft).where(StatusDraft.staff_id == staff_id))
            s.exec(sa.delete(Assignment).where(Assignment.staff_id == staff_id))
            s.exec(
                sa.delete(Prompt).where(
                    Prompt.staff_id == staff_id, Prompt.state.in_(("due", "sending", "sent"))
                )
            )
            s.exec(sa.update(StaffMember).where(StaffMember.deputy_id == staff_id).values(deputy_id=None))
            member.name, member.chat_id, member.deputy_id, member.away_until = REMOVED, None, None, None
            s.commit()

    def set_deputy(self, staff_id: int, deputy_id: int | None) -> None:
        if deputy_id == staff_id:
            raise StaffError("a staff member cannot be their own deputy")
        with Session(self.engine) as s:
            member = self._member(s, staff_id)
            if deputy_id is not None:
                self._member(s, deputy_id)
            member.deputy_id = deputy_id
            s.commit()

    def set_away(self, staff_id: int, until: date | None) -> None:
        with Session(self.engine) as s:
            member = self._member(s, staff_id)
            member.away_until = until
            s.commit()

    def set_cadence(self, measure: str, months: int | None) -> None:
        if measure not in self.measures:
            raise StaffError(f"no such measure: {measure}")
        with Session(self.engine) as s:
            row = s.get(MeasureCadence, measure)
            if months is None:
                if row is not None:
                    s.delete(row)
            elif row is None:
                s.add(MeasureCadence(measure_number=measure, months=months))
            else:
                row.months = months
            s.commit()

    def cadences(self) -> dict[str, int]:
        with Session(self.engine) as s:
            return {r.measure_number: r.months for r in s.exec(select(MeasureCadence)).all()}

    def list(self) -> list[StaffView]:
        with Session(self.engine) as s:
            members = s.exec(select(StaffMember).order_by(StaffMember.id)).all()
            assigned: dict[int, list[str]] = {}
            for a in s.exec(select(Assignment)).all():
                assigned.setdefault(a.staff_id, []).append(a.measure_number)
        return [
            StaffView(
                m.id,
                m.name,
                m.organisation,
                m.role,
                m.language,
                m.chat_id is not None,
                m.deputy_id,
                m.away_until,
                sorted(assigned.get(m.id, []), key=measure_key),
            )  # fmt: skip
            for m in members
        ]

    def import_csv(self, path: Path) -> tuple[int, int]:
        """Columns: name, organisation, role, language, measures (``4.3;4.14``), all but the first
        two optional. A row whose name and organisation exist updates that member. Everything is
        checked before anything is written. Returns (added, updated)."""
        try:
            with path.open(newline="", encoding="utf-8-sig") as fh:
                rows = list(csv.DictReader(fh))
        except (OSError, UnicodeDecodeError, csv.Error) as exc:
            raise StaffError(f"cannot read {path}: {exc}") from None
        planned = []
        for line, row in enumerate(rows, start=2):
            row = {(k or "").strip().lower(): (v or "").strip() for k, v in row.items()}
            try:
                name, org = row.get("name", ""), row.get("organisation", "")
                if not name or not org:
                    raise StaffError("name and organisation are needed")
                role = row.get("role") or "staff"
                lang = row.get("language") or "de"
                if role not in ROLES or lang not in SUPPORTED_LANGUAGES:
                    raise StaffError(f"role {role!r} or language {lang!r} is not known")
                measures = self.parse_measures(row["measures"]) if row.get("measures") else []
            except StaffError as exc:
                raise StaffError(f"{path}, line {line}: {exc}") from None
            planned.append((name, org, role, lang, measures))
        added = updated = 0
        with Session(self.engine) as s:
            for name, org, role, lang, measures in planned:
                member = s.exec(
                    select(StaffMember).where(StaffMember.name == name, StaffMember.organisation == org)
                ).first()
                if member is None:
                    member = StaffMember(name=name, organisation=org, role=role, language=lang)
                    s.add(member)
                    s.flush()
                    added += 1
                else:
                    member.role, member.language = role, lang
                    updated += 1
                have = set(
                    s.exec(select(Assignment.measure_number).where(Assignment.staff_id == member.id)).all()
                )
                for m in measures:
                    if m not in have:
                        s.add(Assignment(staff_id=member.id, measure_number=m))
            s.commit()
        return added, updated

    # -- onboarding --------------------------------------------------------------------------
    def invite(self, staff_id: int, *, now: datetime | None = None, days: int = 14) -> str:
        """A new one-time code for ``staff_id``; earlier unused codes stay valid until they expire."""
        now = now or utcnow()
        code = CODE_PREFIX + secrets.token_urlsafe(CODE_BYTES)
        with Session(self.engine) as s:
            self._member(s, staff_id)
            s.add(
                StaffInvite(
                    staff_id=staff_id,
                    code_hash=hash_code(code),
                    created_at=now,
                    expires_at=now + timedelta(days=days),
                )
            )
            s.commit()
        return code

    def link(
        self, chat_id: int, code: str, *, now: datetime | None = None
    ) -> tuple[LinkOutcome, StaffMember | None]:
        now = now or utcnow()
        digest = hash_code(code)
        with Session(self.engine) as s:
            invite = s.exec(select(StaffInvite).where(StaffInvite.code_hash == digest)).first()
            if invite is None:
                return LinkOutcome.INVALID, None
            if invite.used_at is not None:
                return LinkOutcome.USED, None
            if invite.expires_at <= now:
                return LinkOutcome.EXPIRED, None
            holder = s.exec(select(StaffMember).where(StaffMember.chat_id == chat_id)).first()
            if holder is not None and holder.id != invite.staff_id:
                return LinkOutcome.TAKEN, None
            # Consume the code atomically: of two simultaneous uses, one wins.
            claimed = s.exec(
                sa.update(StaffInvite)
                .where(StaffInvite.id == invite.id, StaffInvite.used_at.is_(None))
                .values(used_at=now)
            )
            if claimed.rowcount != 1:
                s.rollback()
                return LinkOutcome.USED, None
            member = s.get(StaffMember, invite.staff_id)
            member.chat_id = chat_id
            s.commit()
            s.refresh(member)
            return LinkOutcome.LINKED, member

    # -- lookups and permissions --------------------------------------------------------------
    def by_chat(self, chat_id: int) -> StaffMember | None:
        with Session(self.engine) as s:
            return s.exec(select(StaffMember).where(StaffMember.chat_id == chat_id)).first()

    def get(self, staff_id: int) -> StaffMember | None:
        with Session(self.engine) as s:
            return s.get(StaffMember, staff_id)

    def linked_chats(self) -> set[int]:
        with Session(self.engine) as s:
            return set(s.exec(select(StaffMember.chat_id).where(StaffMember.chat_id.is_not(None))).all())

    def coordinators(self) -> list[StaffMember]:
        with Session(self.engine) as s:
            return list(
                s.exec(
                    select(StaffMember).where(
                        StaffMember.role == "coordinator", StaffMember.chat_id.is_not(None)
                    )
                ).all()
            )

    def measures_of(self, member: StaffMember, today: date) -> list[str]:
        """The measures ``member`` answers for today: their own, plus those of absent people they
        deputise for. Coordinators: every measure."""
        if member.role == "coordinator":
            return sorted(self.measures, key=measure_key)
        with Session(self.engine) as s:
            own = set(s.exec(select(Assignment.measure_number).where(Assignment.staff_id == member.id)).all())
            absent = [
                m.id
                for m in s.exec(select(StaffMember).where(StaffMember.deputy_id == member.id)).all()
                if is_away(m, today)
            ]
            if absent:
                own |= set(
                    s.exec(select(Assignment.measure_number).where(Assignment.staff_id.in_(absent))).all()
                )
        return sorted(own, key=measure_key)

    def may_report(self, member: StaffMember | None, measure: str, today: date) -> bool:
        if member is None or member.chat_id is None or measure not in self.measures:
            return False
        return member.role == "coordinator" or measure in self.measures_of(member, today)

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
        now = now or utcnow()
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
                .where(Prompt.measure_number == measure, Prompt.state.in_(("due", "sending", "sent")))
                .values(state="answered", answered_at=now)
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

    # -- drafts (an answer being given; kept in the store so a restart loses nothing) -----------
    def draft(self, staff_id: int) -> StatusDraft | None:
        with Session(self.engine) as s:
            return s.get(StatusDraft, staff_id)

    def save_draft(self, draft: StatusDraft, *, now: datetime | None = None) -> StatusDraft:
        draft.updated_at = now or utcnow()
        with Session(self.engine) as s:
            merged = s.merge(draft)
            s.commit()
            s.refresh(merged)
            return merged

    def drop_draft(self, staff_id: int) -> None:
        with Session(self.engine) as s:
            s.exec(sa.delete(StatusDraft).where(StatusDraft.staff_id == staff_id))
            s.commit()


def measure_key(number: str) -> tuple[int, ...]:
    """Sort "4.14" after "4.3"."""
    return tuple(int(p) if p.isdigit() else 0 for p in number.split("."))
