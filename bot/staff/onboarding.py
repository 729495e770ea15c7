"""Onboarding: one-time invitation codes, linking a chat to a staff member, and unlinking it.

``invite`` makes a random code (``secrets``, 144 bits) and stores only its SHA-256; the deep link
``https://t.me/<bot>?start=<code>`` carries it. ``link`` accepts a code once, before it expires,
and ties the chat to the staff member; the person's other open codes die with it (a superseded
link cannot move the identity later), and ``revoke_invites`` kills them on demand. A link that
moves the person from one chat to another says so (``LinkResult.moved_from``): the transport
tells the old chat. Wrong codes are throttled by the caller.

A chat that loses its staff link (a move, ``staff remove``, the person's own /delete) has its
staff command menu queued for removal from Telegram (``MenuReset``), in the same transaction.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Callable
from datetime import datetime, timedelta
from enum import StrEnum
from typing import NamedTuple

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from bot.models import ComposeState, MenuReset, StaffInvite, StaffMember, StatusDraft, utcnow
from bot.staff.errors import StaffError
from bot.store import db

CODE_PREFIX = "s"  # deep-link codes for staff start with this
CODE_BYTES = 18  # 144 random bits: 24 URL-safe characters after the prefix
# What ``invite`` makes, exactly. Any other /start payload (a poster's deep link such as
# ``?start=sprachcafe``) is a resident's and goes to the language picker, never counted as a
# wrong code.
_CODE = re.compile(re.escape(CODE_PREFIX) + "[A-Za-z0-9_-]{" + str(CODE_BYTES * 4 // 3) + "}")


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


def hash_code(code: str) -> str:
    return hashlib.sha256(code.encode()).hexdigest()


def looks_like_code(payload: str) -> bool:
    """Whether a /start payload has the shape of a staff invitation code (see ``_CODE``)."""
    return _CODE.fullmatch(payload) is not None


def unlink_chat(s: Session, chat_id: int) -> None:
    """In session ``s``: what hangs on a staff chat goes (a newsletter issue being composed), and
    its staff command menu is queued for removal from Telegram."""
    s.exec(sa.delete(ComposeState).where(ComposeState.chat_id == chat_id))
    if s.get(MenuReset, chat_id) is None:
        s.add(MenuReset(chat_id=chat_id))


def _existing(s: Session, staff_id: int) -> None:
    if s.get(StaffMember, staff_id) is None:
        raise StaffError(f"there is no staff member {staff_id}")


@db.retry_transient()
class Onboarding:
    def __init__(self, engine: Engine, clock: Callable[[], datetime] = utcnow):
        self.engine = engine
        self.clock = clock

    def invite(self, staff_id: int, *, now: datetime | None = None, days: int = 14) -> str:
        """A new one-time code for ``staff_id``. Earlier unused codes stay valid until one of them
        links a chat (then the others are void), they expire, or ``revoke_invites``."""
        now = now or self.clock()
        code = CODE_PREFIX + secrets.token_urlsafe(CODE_BYTES)
        with Session(self.engine) as s:
            _existing(s, staff_id)
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
            _existing(s, staff_id)
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
                unlink_chat(s, moved_from)
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
            unlink_chat(s, chat_id)
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
