"""Staff: who reports on which measure, onboarding by one-time invite, and the status records.

Staff data is personal. It lives only in the store (added by the CLI or imported from a CSV the
operator keeps outside the repository), never in ``data/``.

Onboarding: ``invite`` makes a random code (``secrets``, 144 bits) and stores only its SHA-256;
the deep link ``https://t.me/<bot>?start=<code>`` carries it. ``link`` accepts a code once, before
it expires, and ties the chat to the staff member; the person's other open codes die with it (a
superseded link cannot move the identity later), and ``revoke_invites`` kills them on demand. A
link that moves the person from one chat to another says so (``LinkResult.moved_from``): the
transport tells the old chat. Wrong codes are throttled by the caller.

Who may report: a linked staff member for the measures assigned to them, a deputy for the
measures of someone who is away today, and coordinators for every measure.
"""

from __future__ import annotations

import csv
import hashlib
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from enum import StrEnum
from pathlib import Path
from typing import NamedTuple

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from bot.languages import SUPPORTED_LANGUAGES
from bot.models import (
    STATUS_VALUES,
    Assignment,
    ComposeState,
    MeasureCadence,
    MenuReset,
    Prompt,
    StaffInvite,
    StaffMember,
    StatusDraft,
    StatusReport,
    utcnow,
)
from bot.store import db

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


class LinkResult(NamedTuple):
    outcome: LinkOutcome
    member: StaffMember | None
    moved_from: int | None = None  # the chat the person was linked in before, if another one


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
    def __init__(self, engine: Engine, measures: set[str] | dict, clock: Callable[[], datetime] = utcnow):
        self.engine = engine
        self.measures = set(measures)
        self.clock = clock  # the process's one clock (bot.clock): assignments, invites, records

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
                name=name,
                organisation=organisation,
                role=role,
                language=language,
                deputy_id=deputy_id,
                created_at=self.clock(),
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
                s.add(Assignment(staff_id=staff_id, measure_number=m, created_at=self.clock()))
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
        """Erase a person: their name, chat link, invites, drafts, assignments, open requests and
        a newsletter issue they were composing go, and their chat's staff command menu is queued
        for removal (``MenuReset``); the status records they made stay (the report needs them)
        under "(removed)"."""
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
            if member.chat_id is not None:
                _unlink_chat(s, member.chat_id)
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
                    member = StaffMember(
                        name=name, organisation=org, role=role, language=lang, created_at=self.clock()
                    )
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
                        s.add(Assignment(staff_id=member.id, measure_number=m, created_at=self.clock()))
            s.commit()
        return added, updated

    # -- onboarding --------------------------------------------------------------------------
    def invite(self, staff_id: int, *, now: datetime | None = None, days: int = 14) -> str:
        """A new one-time code for ``staff_id``. Earlier unused codes stay valid until one of them
        links a chat (then the others are void), they expire, or ``revoke_invites``."""
        now = now or self.clock()
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

    def revoke_invites(self, staff_id: int) -> int:
        """Void every open (unused) code of ``staff_id``; returns how many there were."""
        with Session(self.engine) as s:
            self._member(s, staff_id)
            result = s.exec(
                sa.delete(StaffInvite).where(StaffInvite.staff_id == staff_id, StaffInvite.used_at.is_(None))
            )
            s.commit()
            return result.rowcount

    def link(self, chat_id: int, code: str, *, now: datetime | None = None) -> LinkResult:
        """Tie ``chat_id`` to the code's staff member, once per code, and void the person's other
        open codes. ``moved_from`` names the chat the person was linked in before, if any other:
        that chat loses the link (and its staff menu is queued for removal)."""
        now = now or self.clock()
        digest = hash_code(code)
        with Session(self.engine) as s:
            invite = s.exec(select(StaffInvite).where(StaffInvite.code_hash == digest)).first()
            if invite is None:
                return LinkResult(LinkOutcome.INVALID, None)
            if invite.used_at is not None:
                return LinkResult(LinkOutcome.USED, None)
            if invite.expires_at <= now:
                return LinkResult(LinkOutcome.EXPIRED, None)
            holder = s.exec(select(StaffMember).where(StaffMember.chat_id == chat_id)).first()
            if holder is not None and holder.id != invite.staff_id:
                return LinkResult(LinkOutcome.TAKEN, None)
            # Consume the code atomically: of two simultaneous uses, one wins.
            claimed = s.exec(
                sa.update(StaffInvite)
                .where(StaffInvite.id == invite.id, StaffInvite.used_at.is_(None))
                .values(used_at=now)
            )
            if claimed.rowcount != 1:
                s.rollback()
                return LinkResult(LinkOutcome.USED, None)
            # The person's other open codes are superseded: none of them can move the link later.
            s.exec(
                sa.delete(StaffInvite).where(
                    StaffInvite.staff_id == invite.staff_id, StaffInvite.used_at.is_(None)
                )
            )
            member = s.get(StaffMember, invite.staff_id)
            moved_from = member.chat_id if member.chat_id not in (None, chat_id) else None
            if moved_from is not None:
                _unlink_chat(s, moved_from)
            s.exec(sa.delete(MenuReset).where(MenuReset.chat_id == chat_id))  # it gets a menu now
            member.chat_id = chat_id
            s.commit()
            s.refresh(member)
            return LinkResult(LinkOutcome.LINKED, member, moved_from)

    def forget_chat(self, chat_id: int) -> bool:
        """A staff member's own /delete: the chat's link to their entry goes, with an answer in
        progress, a newsletter issue being composed in it, and (queued) its staff command menu.
        Their entry (name, organisation, measures) stays with the operator, and so do the status
        records they made: the implementation report (measure 7.16) needs them. True if the chat
        was linked."""
        with Session(self.engine) as s:
            member = s.exec(select(StaffMember).where(StaffMember.chat_id == chat_id)).first()
            if member is None:
                return False
            s.exec(sa.delete(StatusDraft).where(StatusDraft.staff_id == member.id))
            _unlink_chat(s, chat_id)
            member.chat_id = None
            s.commit()
            return True

    def is_linked(self, chat_id: int) -> bool:
        with Session(self.engine) as s:
            return s.exec(select(StaffMember.id).where(StaffMember.chat_id == chat_id)).first() is not None

    # -- staff command menus to remove from Telegram (see ``MenuReset``) ------------------------
    def menu_resets(self) -> list[int]:
        with Session(self.engine) as s:
            return list(s.exec(select(MenuReset.chat_id).order_by(MenuReset.created_at)).all())

    def menu_reset_done(self, chat_id: int) -> None:
        with Session(self.engine) as s:
            s.exec(sa.delete(MenuReset).where(MenuReset.chat_id == chat_id))
            s.commit()

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


def _unlink_chat(s: Session, chat_id: int) -> None:
    """In session ``s``: what hangs on a staff chat goes (a newsletter issue being composed), and
    its staff command menu is queued for removal from Telegram."""
    s.exec(sa.delete(ComposeState).where(ComposeState.chat_id == chat_id))
    if s.get(MenuReset, chat_id) is None:
        s.add(MenuReset(chat_id=chat_id))


def measure_key(number: str) -> tuple[int, ...]:
    """Sort "4.14" after "4.3"."""
    return tuple(int(p) if p.isdigit() else 0 for p in number.split("."))
