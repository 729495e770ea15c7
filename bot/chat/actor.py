"""Who is writing: the actor of one update, resolved once, with one store read.

An ``Actor`` is the chat, the language its resident chose (None before a choice), the staff
member linked to it (None for a resident), and what that member has in progress: a status note
being typed, a newsletter issue being composed. ``StoreActors.resolve`` reads all of it in one
statement (outer joins from the chat id), so a resident's question costs one round trip before
the answer, and a staff tap knows its member without asking again.

While an update is handled, its actor is the *current* one (a ``ContextVar``, as aiogram keeps
its locale per update: each ``asyncio.to_thread`` call runs in a copy of the context, so two
chats handled at once never see each other's actor). The residents' dialogue asks it for the
language instead of reading the store again.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, replace
from typing import Protocol

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from bot.models import ComposeState, Resident, StaffMember, StatusDraft
from bot.staff.permissions import is_coordinator
from bot.store import db


@dataclass(frozen=True)
class Actor:
    chat_id: int
    lang: str | None = None  # the resident's chosen language; None before a choice
    private: bool = True
    member: StaffMember | None = None  # a detached copy of the linked staff member's row
    awaiting_note: bool = False  # a status answer waits for its note (staff)
    composing: str | None = None  # the newsletter whose issue text comes next (coordinators)

    @property
    def is_staff(self) -> bool:
        return self.member is not None

    @property
    def is_coordinator(self) -> bool:
        return is_coordinator(self.member)


class Actors(Protocol):
    def resolve(self, chat_id: int, *, private: bool = True) -> Actor: ...


class PreferenceActors:
    """Actors whose language lives in a ``Preferences`` (in memory: the console keeps nothing
    about its user), with the staff side from the store if one is given."""

    def __init__(self, prefs, store: StoreActors | None = None):
        self.prefs = prefs
        self.store = store

    def resolve(self, chat_id: int, *, private: bool = True) -> Actor:
        lang = self.prefs.get_language(chat_id)
        if self.store is None:
            return Actor(chat_id, lang, private)
        return replace(self.store.resolve(chat_id, private=private), lang=lang)


_MEMBER_COLUMNS = list(StaffMember.__table__.columns)
_chat = sa.bindparam("chat_id", type_=sa.BigInteger)
_RESOLVE = (
    sa.select(
        Resident.__table__.c.language.label("resident_language"),
        StatusDraft.__table__.c.awaiting_note,
        ComposeState.__table__.c.newsletter.label("composing"),
        *_MEMBER_COLUMNS,
    )
    .select_from(sa.select(_chat.label("chat_id")).subquery("me"))
    .outerjoin(Resident.__table__, Resident.__table__.c.chat_id == sa.literal_column("me.chat_id"))
    .outerjoin(StaffMember.__table__, StaffMember.__table__.c.chat_id == sa.literal_column("me.chat_id"))
    .outerjoin(StatusDraft.__table__, StatusDraft.__table__.c.staff_id == StaffMember.__table__.c.id)
    .outerjoin(ComposeState.__table__, ComposeState.__table__.c.chat_id == sa.literal_column("me.chat_id"))
)


@db.retry_transient()
class StoreActors:
    """Actors from the store: one statement per update (a plain SELECT, no ORM session)."""

    def __init__(self, engine: Engine):
        self.engine = engine

    def resolve(self, chat_id: int, *, private: bool = True) -> Actor:
        with self.engine.connect() as conn:
            row = conn.execute(_RESOLVE, {"chat_id": chat_id}).mappings().one()
        member = None
        if row["id"] is not None:
            member = StaffMember(**{c.name: row[c.name] for c in _MEMBER_COLUMNS})
        return Actor(
            chat_id,
            row["resident_language"],
            private,
            member,
            awaiting_note=bool(row["awaiting_note"]),
            composing=row["composing"] if is_coordinator(member) else None,
        )


_CURRENT: ContextVar[Actor | None] = ContextVar("ankommen_actor", default=None)


def current(chat_id: int) -> Actor | None:
    """The actor of the update being handled, if it is this chat's."""
    actor = _CURRENT.get()
    return actor if actor is not None and actor.chat_id == chat_id else None


@contextmanager
def acting(actor: Actor) -> Iterator[None]:
    token = _CURRENT.set(actor)
    try:
        yield
    finally:
        _CURRENT.reset(token)


def language_chosen(chat_id: int, lang: str | None) -> None:
    """The resident chose (or, erasing their data, dropped) a language during this update."""
    actor = current(chat_id)
    if actor is not None:
        _CURRENT.set(replace(actor, lang=lang))
