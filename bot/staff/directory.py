"""Staff: who exists and reports on which measure (the operator's side: the CLI and its CSV import).

Staff data is personal. It lives only in the store (added by the CLI or imported from a CSV the
operator keeps outside the repository), never in ``data/``.

The directory is the front door for callers that hold one (the desk, the residents' /delete, the
CLI): onboarding by one-time invite is ``bot/staff/onboarding.py``, who may report and who is
asked is ``bot/staff/permissions.py`` (the directory loads what that rule needs, ``duties``), and
what staff said is ``bot/staff/records.py``; the directory delegates to them.
"""

from __future__ import annotations

import csv
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from bot.languages import SUPPORTED_LANGUAGES
from bot.models import (
    OPEN_PROMPT_STATES,
    Assignment,
    MeasureCadence,
    Prompt,
    Role,
    StaffInvite,
    StaffMember,
    StatusDraft,
    utcnow,
)
from bot.staff import permissions
from bot.staff.errors import StaffError
from bot.staff.onboarding import Onboarding, unlink_chat
from bot.staff.permissions import Duties, is_coordinator
from bot.staff.records import StatusRecords
from bot.store import db

ROLES = tuple(Role)
MAX_NAME = 200
REMOVED = "(removed)"


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


def _via(part: str, name: str) -> property:
    """``directory.<name>`` is ``directory.<part>.<name>``, the part's own (retried) method."""
    return property(lambda self: getattr(getattr(self, part), name), doc=f"``{part}.{name}``")


@db.retry_transient()
class StaffDirectory:
    def __init__(self, engine: Engine, measures: set[str] | dict, clock: Callable[[], datetime] = utcnow):
        self.engine = engine
        self.measures = set(measures)
        self.clock = clock  # the process's one clock (bot.clock): assignments, invites, records
        self.onboarding = Onboarding(engine, clock)
        self.records = StatusRecords(engine, clock)

    # -- administration (CLI) ----------------------------------------------------------------
    def add(
        self,
        name: str,
        organisation: str,
        *,
        role: str = Role.STAFF,
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
            s.exec(sa.delete(Prompt).where(Prompt.staff_id == staff_id, Prompt.state.in_(OPEN_PROMPT_STATES)))
            s.exec(sa.update(StaffMember).where(StaffMember.deputy_id == staff_id).values(deputy_id=None))
            if member.chat_id is not None:
                unlink_chat(s, member.chat_id)
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
                role = row.get("role") or Role.STAFF
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
                        StaffMember.role == Role.COORDINATOR, StaffMember.chat_id.is_not(None)
                    )
                ).all()
            )

    def duties(self, member: StaffMember) -> Duties:
        """What the deputy rule needs about ``member``: their measures, and the colleagues whose
        deputy they are, with those colleagues' measures."""
        with Session(self.engine) as s:
            deputised = list(s.exec(select(StaffMember).where(StaffMember.deputy_id == member.id)).all())
            ids = [member.id] + [m.id for m in deputised]
            assigned: dict[int, set[str]] = {}
            for staff_id, measure in s.exec(
                select(Assignment.staff_id, Assignment.measure_number).where(Assignment.staff_id.in_(ids))
            ).all():
                assigned.setdefault(staff_id, set()).add(measure)
        return Duties(self.measures, assigned, deputised)

    def _duties_for(self, member: StaffMember) -> Duties:
        """A coordinator's duties need no store read: they answer for every measure."""
        return Duties(self.measures, {}, []) if is_coordinator(member) else self.duties(member)

    def measures_of(self, member: StaffMember, today: date) -> list[str]:
        """The measures ``member`` answers for today (``permissions.measures_of``), in order."""
        return sorted(permissions.measures_of(member, today, self._duties_for(member)), key=measure_key)

    def may_report(self, member: StaffMember | None, measure: str, today: date) -> bool:
        if member is None or member.chat_id is None or measure not in self.measures:
            return False  # decided without the store
        return permissions.may_report(member, measure, today, self._duties_for(member))

    # -- delegates, for callers that hold a directory (the desk, /delete, the CLI, the tests) ----
    invite = _via("onboarding", "invite")
    revoke_invites = _via("onboarding", "revoke_invites")
    link = _via("onboarding", "link")
    forget_chat = _via("onboarding", "forget_chat")
    is_linked = _via("onboarding", "is_linked")
    menu_resets = _via("onboarding", "menu_resets")
    menu_reset_done = _via("onboarding", "menu_reset_done")
    record = _via("records", "record")
    latest = _via("records", "latest")
    report_by_id = _via("records", "report_by_id")
    draft = _via("records", "draft")
    save_draft = _via("records", "save_draft")
    drop_draft = _via("records", "drop_draft")


def measure_key(number: str) -> tuple[int, ...]:
    """Sort "4.14" after "4.3"."""
    return tuple(int(p) if p.isdigit() else 0 for p in number.split("."))
