"""The store: SQLModel tables. SQLite by default, PostgreSQL through DATABASE_URL.

Content tables (Field … Translation) are written only by the importer, from ``data/``.
Everything else (residents, subscriptions, status history, staff, newsletters) is never touched by
the importer. Schema changes go through Alembic (``migrations/``).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from enum import StrEnum

import sqlalchemy as sa
from sqlalchemy.types import TypeDecorator
from sqlmodel import Column, Field, SQLModel


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator):
    """A timezone-aware timestamp on every backend (SQLite forgets the zone; we restore UTC)."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a timezone-aware column")
        return value.astimezone(UTC)

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def ts_column(nullable: bool = False, **kw) -> Column:
    return Column(UTCDateTime(), nullable=nullable, **kw)


# --- the values of the state columns ---------------------------------------------------------------
# StrEnums: they compare equal to the strings stored in the rows, so no migration goes with them.


class Role(StrEnum):
    """``StaffMember.role``."""

    STAFF = "staff"
    COORDINATOR = "coordinator"


class PromptState(StrEnum):
    """``Prompt.state`` (see ``bot/staff/loop.py``)."""

    DUE = "due"
    SENDING = "sending"
    SENT = "sent"
    ANSWERED = "answered"


# A prompt in one of these states is open: an answer (any status record of the measure) closes it.
OPEN_PROMPT_STATES = (PromptState.DUE, PromptState.SENDING, PromptState.SENT)


class IssueState(StrEnum):
    """``NewsletterIssue.state``."""

    DRAFT = "draft"
    SCHEDULED = "scheduled"
    HELD = "held"
    SENDING = "sending"
    SENT = "sent"
    CANCELLED = "cancelled"


class DeliveryState(StrEnum):
    """``Delivery.state`` (see ``bot/newsletters/outbox.py``)."""

    PENDING = "pending"
    CLAIMED = "claimed"
    SENDING = "sending"
    SENT = "sent"
    BLOCKED = "blocked"
    GONE = "gone"
    FAILED = "failed"
    UNKNOWN = "unknown"
    SKIPPED = "skipped"
    CANCELLED = "cancelled"


class SubscriptionStatus(StrEnum):
    """``Subscription.status``."""

    ACTIVE = "active"
    BLOCKED = "blocked"
    INACTIVE = "inactive"


# --- content ------------------------------------------------------------------------------------


class ActionField(SQLModel, table=True):
    """One of the 7 fields of action ("Handlungsfelder"); 7 is "Handlungsfeldübergreifendes"."""

    __tablename__ = "field"
    number: int = Field(primary_key=True)
    title_de: str


class Goal(SQLModel, table=True):
    """A main goal ("Hauptziel") under its sub-heading, German text verbatim."""

    id: str = Field(primary_key=True, max_length=16)
    field_number: int = Field(foreign_key="field.number", index=True)
    position: int
    heading_de: str | None = None
    text_de: str


class Measure(SQLModel, table=True):
    """A measure, numbered exactly as printed ("4.14"; "3.1" with note "u. a.")."""

    number: str = Field(primary_key=True, max_length=16)
    note: str | None = Field(default=None, max_length=32)
    field_number: int = Field(foreign_key="field.number", index=True)
    position: int
    text_de: str
    responsible_de: str


class ContactFields(SQLModel):
    """Contact details: empty unless the sources state them. Never invented."""

    phone: str | None = None
    email: str | None = None
    address: str | None = None
    url: str | None = None
    hours: str | None = None

    def contact(self) -> dict[str, str]:
        """Only the contact fields that exist, in a fixed order."""
        values = {k: getattr(self, k) for k in ("phone", "email", "address", "url", "hours")}
        return {k: v for k, v in values.items() if v}


class Organisation(ContactFields, table=True):
    """A responsible body or partner named in the concept."""

    id: str = Field(primary_key=True, max_length=64)
    name_de: str
    kind: str = Field(max_length=32)
    parent_id: str | None = Field(default=None, max_length=64)


class MeasureOrganisation(SQLModel, table=True):
    """Who is responsible for a measure, in printed order; ``lead`` where "federführend"."""

    __tablename__ = "measure_organisation"
    measure_number: str = Field(foreign_key="measure.number", primary_key=True, max_length=16)
    position: int = Field(primary_key=True)
    organisation_id: str = Field(foreign_key="organisation.id", max_length=64)
    as_printed: str
    lead: bool = False


class Offer(ContactFields, table=True):
    """Something a resident can use: counselling, a newsletter, a course, an event …"""

    id: str = Field(primary_key=True, max_length=64)
    kind: str = Field(max_length=32)
    target_groups: list[str] = Field(default_factory=list, sa_column=Column(sa.JSON, nullable=False))
    position: int


class OfferMeasure(SQLModel, table=True):
    __tablename__ = "offer_measure"
    offer_id: str = Field(foreign_key="offer.id", primary_key=True, max_length=64)
    measure_number: str = Field(foreign_key="measure.number", primary_key=True, max_length=16)
    position: int


class OfferProvider(SQLModel, table=True):
    __tablename__ = "offer_provider"
    offer_id: str = Field(foreign_key="offer.id", primary_key=True, max_length=64)
    organisation_id: str = Field(foreign_key="organisation.id", primary_key=True, max_length=64)
    role: str = Field(max_length=16)
    position: int


class Translation(SQLModel, table=True):
    """Plain-language text of a field, goal, measure or offer in one language.

    ``machine`` stays true until a person has reviewed the text.
    """

    entity: str = Field(primary_key=True, max_length=16)  # field | goal | measure | offer
    key: str = Field(primary_key=True, max_length=64)
    lang: str = Field(primary_key=True, max_length=8)
    title: str
    summary: str = ""
    access: str | None = None
    keywords: list[str] = Field(default_factory=list, sa_column=Column(sa.JSON, nullable=False))
    machine: bool = True
    # Made from an older German text than today's (``bot.content.checks``): the card says so.
    outdated: bool = False


# --- residents and newsletters --------------------------------------------------------------------


class Resident(SQLModel, table=True):
    """A resident: chat id, language, timestamps. Nothing more (privacy by default)."""

    chat_id: int = Field(sa_column=Column(sa.BigInteger, primary_key=True, autoincrement=False))
    language: str = Field(max_length=8)
    created_at: datetime = Field(default_factory=utcnow, sa_column=ts_column())
    updated_at: datetime = Field(default_factory=utcnow, sa_column=ts_column())


class Subscription(SQLModel, table=True):
    __table_args__ = (sa.UniqueConstraint("chat_id", "newsletter"),)
    id: int | None = Field(default=None, primary_key=True)
    chat_id: int = Field(
        sa_column=Column(sa.BigInteger, sa.ForeignKey("resident.chat_id", ondelete="CASCADE"), nullable=False)
    )
    newsletter: str = Field(max_length=16)  # a measure number: "1.24", "1.32"
    status: str = Field(default=SubscriptionStatus.ACTIVE, max_length=16)  # SubscriptionStatus
    language: str = Field(max_length=8)
    created_at: datetime = Field(default_factory=utcnow, sa_column=ts_column())


class NewsletterIssue(SQLModel, table=True):
    """An issue of a newsletter: Telegram HTML per language (converted from the editor's Markdown
    at draft time), an optional image (sent as a photo with the text as caption)."""

    __tablename__ = "newsletter_issue"
    id: int | None = Field(default=None, primary_key=True)
    newsletter: str = Field(max_length=16, index=True)
    texts: dict[str, str] = Field(default_factory=dict, sa_column=Column(sa.JSON, nullable=False))
    state: str = Field(default=IssueState.DRAFT, max_length=16)  # IssueState
    scheduled_at: datetime | None = Field(default=None, sa_column=ts_column(nullable=True))
    created_at: datetime = Field(default_factory=utcnow, sa_column=ts_column())
    image: bytes | None = Field(default=None, sa_column=Column(sa.LargeBinary, nullable=True))
    image_name: str | None = Field(default=None, max_length=128)
    started_at: datetime | None = Field(default=None, sa_column=ts_column(nullable=True))
    finished_at: datetime | None = Field(default=None, sa_column=ts_column(nullable=True))


class Delivery(SQLModel, table=True):
    """The outbox: one row per (issue, chat), unique. See ``bot/newsletters/outbox.py`` for the states."""

    __table_args__ = (
        sa.UniqueConstraint("issue_id", "chat_id"),
        sa.Index("ix_delivery_issue_state", "issue_id", "state"),
        sa.Index("ix_delivery_chat_id", "chat_id"),
    )
    id: int | None = Field(default=None, primary_key=True)
    issue_id: int = Field(foreign_key="newsletter_issue.id", index=True)
    chat_id: int = Field(sa_column=Column(sa.BigInteger, nullable=False))
    language: str = Field(max_length=8)
    state: str = Field(default=DeliveryState.PENDING, max_length=16)  # DeliveryState
    attempts: int = 0
    last_error: str | None = None
    lease_until: datetime | None = Field(default=None, sa_column=ts_column(nullable=True))
    sent_at: datetime | None = Field(default=None, sa_column=ts_column(nullable=True))
    worker: str | None = Field(default=None, max_length=64)  # who holds the lease


# --- staff and the status loop ----------------------------------------------------------------


class StaffMember(SQLModel, table=True):
    """A person who reports on measures. Personal data: lives only in the store, never in data/."""

    __tablename__ = "staff_member"
    id: int | None = Field(default=None, primary_key=True)
    name: str
    organisation: str
    chat_id: int | None = Field(default=None, sa_column=Column(sa.BigInteger, unique=True, nullable=True))
    language: str = Field(default="de", max_length=8)
    role: str = Field(default=Role.STAFF, max_length=16)  # Role
    created_at: datetime = Field(default_factory=utcnow, sa_column=ts_column())
    deputy_id: int | None = Field(default=None, foreign_key="staff_member.id")
    away_until: date | None = None  # away up to and including this day; the deputy takes over


class StaffInvite(SQLModel, table=True):
    """A one-time onboarding code. Only its SHA-256 is stored; it works once, until it expires."""

    __tablename__ = "staff_invite"
    id: int | None = Field(default=None, primary_key=True)
    staff_id: int = Field(foreign_key="staff_member.id", index=True)
    code_hash: str = Field(max_length=64, unique=True)
    created_at: datetime = Field(default_factory=utcnow, sa_column=ts_column())
    expires_at: datetime = Field(sa_column=ts_column())
    used_at: datetime | None = Field(default=None, sa_column=ts_column(nullable=True))


class Assignment(SQLModel, table=True):
    staff_id: int = Field(foreign_key="staff_member.id", primary_key=True)
    measure_number: str = Field(foreign_key="measure.number", primary_key=True, max_length=16)
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=ts_column(server_default=sa.text("CURRENT_TIMESTAMP"))
    )


class MeasureCadence(SQLModel, table=True):
    """A measure's own reporting cadence in months; without a row the global one applies."""

    __tablename__ = "measure_cadence"
    measure_number: str = Field(foreign_key="measure.number", primary_key=True, max_length=16)
    months: int


class StatusReport(SQLModel, table=True):
    """A measure's implementation status. Append-only history; the newest row is current.

    A correction (within the correction window) is a new row that names the row it corrects.
    """

    __tablename__ = "status_report"
    id: int | None = Field(default=None, primary_key=True)
    measure_number: str = Field(foreign_key="measure.number", index=True, max_length=16)
    status: str = Field(max_length=32)
    progress: int | None = None
    note: str | None = None
    staff_id: int | None = Field(default=None, foreign_key="staff_member.id")
    reported_at: datetime = Field(default_factory=utcnow, sa_column=ts_column())
    corrects_id: int | None = Field(default=None, foreign_key="status_report.id")


class Prompt(SQLModel, table=True):
    """A status prompt for one measure and one assigned staff member, created when it falls due.

    Everything the loop does is derived from these rows: ``due`` rows are claimed (``sending``)
    and sent; ``remind_at``/``escalate_at`` are fixed when the prompt is sent; ``reminded_at`` and
    ``escalated_at`` are set before the reminder or digest goes out, so nothing is sent twice.
    ``sent_to`` is who received it (the staff member, or their deputy while they are away).
    """

    __table_args__ = (sa.UniqueConstraint("measure_number", "staff_id", "due_at"),)
    id: int | None = Field(default=None, primary_key=True)
    measure_number: str = Field(foreign_key="measure.number", index=True, max_length=16)
    staff_id: int = Field(foreign_key="staff_member.id", index=True)
    due_at: datetime = Field(sa_column=ts_column())
    state: str = Field(default=PromptState.DUE, max_length=16, index=True)  # PromptState
    sent_to: int | None = Field(default=None, foreign_key="staff_member.id")
    claimed_at: datetime | None = Field(default=None, sa_column=ts_column(nullable=True))
    sent_at: datetime | None = Field(default=None, sa_column=ts_column(nullable=True))
    remind_at: datetime | None = Field(default=None, sa_column=ts_column(nullable=True))
    escalate_at: datetime | None = Field(default=None, sa_column=ts_column(nullable=True))
    reminded_at: datetime | None = Field(default=None, sa_column=ts_column(nullable=True))
    escalated_at: datetime | None = Field(default=None, sa_column=ts_column(nullable=True))
    answered_at: datetime | None = Field(default=None, sa_column=ts_column(nullable=True))
    last_error: str | None = Field(default=None, max_length=64)


class StatusDraft(SQLModel, table=True):
    """A status answer being given (status chosen, progress and note pending): survives restarts."""

    __tablename__ = "status_draft"
    staff_id: int = Field(foreign_key="staff_member.id", primary_key=True)
    measure_number: str = Field(foreign_key="measure.number", max_length=16)
    status: str = Field(max_length=32)
    progress: int | None = None
    note: str | None = None
    awaiting_note: bool = False
    corrects_id: int | None = Field(default=None, foreign_key="status_report.id")
    updated_at: datetime = Field(default_factory=utcnow, sa_column=ts_column())


STATUS_VALUES = ("implemented", "on_track", "delayed", "not_started", "continuous", "dropped")
# A measure's status older than this is stale: the report marks it, the residents' card says so.
STALE_AFTER = timedelta(days=183)


# --- learning from residents (never with a user id) -------------------------------------------


class Gap(SQLModel, table=True):
    """A question with no confident match, for editors. No user id; scrubbed (``bot.residents.scrub``)."""

    id: int | None = Field(default=None, primary_key=True)
    created_at: datetime = Field(default_factory=utcnow, sa_column=ts_column(index=True))
    lang: str = Field(max_length=8)
    text: str = Field(max_length=1000)
    # The referral topic that answered it (a question the concept has no measure for); None: no
    # answer at all. Editors see both, grouped (``ankommen gaps``).
    topic: str | None = Field(default=None, max_length=64, index=True)


class SafetyCount(SQLModel, table=True):
    """How many messages got the safety card, per topic and day. Never the text, never who."""

    __tablename__ = "safety_count"
    topic: str = Field(primary_key=True, max_length=32)
    day: date = Field(primary_key=True)
    count: int = 0


class Vote(SQLModel, table=True):
    """One 👍 or 👎 on a measure or an offer. No user id."""

    id: int | None = Field(default=None, primary_key=True)
    created_at: datetime = Field(default_factory=utcnow, sa_column=ts_column())
    entity: str = Field(max_length=16)  # measure | offer
    key: str = Field(max_length=64)
    up: bool


# --- state shared by instances (so any instance behind a load balancer can take the next update) -


class ComposeState(SQLModel, table=True):
    """A coordinator's newsletter desk: the newsletter picked with /newsletter, whose next text is
    the issue (None: not composing), and the issues their buttons may send or discard, because
    the bot showed them to this coordinator (the previewed drafts, the held issues listed)."""

    __tablename__ = "newsletter_compose"
    chat_id: int = Field(sa_column=Column(sa.BigInteger, primary_key=True, autoincrement=False))
    newsletter: str | None = Field(default=None, max_length=16)
    offered: list[int] = Field(default_factory=list, sa_column=Column(sa.JSON, nullable=True))
    started_at: datetime = Field(default_factory=utcnow, sa_column=ts_column())


class MenuReset(SQLModel, table=True):
    """A chat whose staff command menu must go from Telegram (``deleteMyCommands`` for its chat
    scope): after ``staff remove``, a move of the staff link to another chat, or a staff member's
    ``/delete``. Written in the same transaction as that change, so it cannot be forgotten, and
    deleted once a process with the token has removed the menu (the CLI at once, the bot at
    start and every status tick). Holds the chat id only."""

    __tablename__ = "menu_reset"
    chat_id: int = Field(sa_column=Column(sa.BigInteger, primary_key=True, autoincrement=False))
    created_at: datetime = Field(default_factory=utcnow, sa_column=ts_column())


class SendBudget(SQLModel, table=True):
    """The Telegram budget every instance shares (``bot/store/budget.py``): ``next_at`` is the
    first time slot nobody has taken, in seconds since the epoch on the store's clock."""

    __tablename__ = "send_budget"
    name: str = Field(primary_key=True, max_length=32)
    next_at: float = Field(sa_column=Column(sa.Float(precision=53), nullable=False))


class ThrottleEvent(SQLModel, table=True):
    """One counted attempt (a wrong invitation code) for a throttle shared by all instances.

    ``key`` names the throttle and the chat; rows older than the throttle's window are deleted
    whenever a new one is written, so nothing is kept longer than the window."""

    __tablename__ = "throttle_event"
    __table_args__ = (sa.Index("ix_throttle_event_key_at", "key", "at"),)
    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(max_length=64)
    at: datetime = Field(sa_column=ts_column())
