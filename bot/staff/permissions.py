"""Who may do what: the deputy rule, once, for both directions (who is asked, who may answer).

**The deputy rule** (``stands_in``): a staff member's deputy takes over their measures while the
member cannot be asked: they are away (``away_until``, up to and including that day) or have no
chat linked. The status loop asks the deputy then (``recipient``), and the deputy may answer
(``may_report``): whoever is asked can always answer.

**Who may report** on a measure: a linked staff member for the measures assigned to them, for the
measures of the colleagues they stand in for today, and coordinators for every measure. A member
who is away may still answer for their own measures.

Everything here is pure: the store work (who is assigned what) is ``StaffDirectory.duties``.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from datetime import date
from typing import NamedTuple

from bot.models import Role, StaffMember


class Duties(NamedTuple):
    """What the rule needs to know from the store about one member."""

    measures: Collection[str]  # every measure there is
    assigned: Mapping[int, Collection[str]]  # staff id -> measures: the member's and `deputised`'s
    deputised: Sequence[StaffMember]  # the colleagues whose deputy the member is


def is_away(member: StaffMember, today: date) -> bool:
    return member.away_until is not None and today <= member.away_until


def is_coordinator(member: StaffMember | None) -> bool:
    return member is not None and member.role == Role.COORDINATOR


def reachable(member: StaffMember, today: date) -> bool:
    """Whether a message to ``member`` reaches them today: a linked chat, and not away."""
    return member.chat_id is not None and not is_away(member, today)


def stands_in(member: StaffMember, today: date) -> bool:
    """The deputy rule: whether ``member``'s deputy takes over their measures today."""
    return member.deputy_id is not None and not reachable(member, today)


def recipient(member: StaffMember, deputy: StaffMember | None, today: date) -> StaffMember | None:
    """The person to ask about ``member``'s measure: the member, or their linked deputy while the
    deputy stands in and is reachable; None: nobody can be asked today (the prompt waits)."""
    if reachable(member, today):
        return member
    if deputy is not None and deputy.id == member.deputy_id and stands_in(member, today):
        return deputy if reachable(deputy, today) else None
    return None


def measures_of(member: StaffMember, today: date, duties: Duties) -> set[str]:
    """The measures ``member`` answers for today: their own, plus those of the colleagues they
    stand in for. Coordinators: every measure."""
    if is_coordinator(member):
        return set(duties.measures)
    covered = [member.id] + [
        m.id for m in duties.deputised if m.deputy_id == member.id and stands_in(m, today)
    ]
    return {m for staff_id in covered for m in duties.assigned.get(staff_id, ())}


def may_report(member: StaffMember | None, measure: str, today: date, duties: Duties) -> bool:
    """Whether ``member`` may record a status for ``measure`` today (a linked chat is needed)."""
    if member is None or member.chat_id is None or measure not in duties.measures:
        return False
    return is_coordinator(member) or measure in measures_of(member, today, duties)
