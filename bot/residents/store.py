"""Residents in the store: language preference, erasure, and what they teach us (gaps, votes).

Privacy by default: a resident row holds the chat id, the language and timestamps; subscriptions
hang off it and go with it. Unanswered questions and votes are stored without any user id, and
questions are scrubbed before they are written (``bot.residents.scrub``: names after introductions,
street addresses, e-mail addresses, @handles, phone numbers in digits or words, control
characters).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import bindparam
from sqlalchemy.engine import Engine
from sqlmodel import Session, delete, select, update

from bot.models import Delivery, Gap, Resident, SafetyCount, Subscription, Vote, utcnow
from bot.residents.scrub import scrub
from bot.search.text import normalise
from bot.store import db

__all__ = ["GapGroup", "StorePreferences", "StoreRecorder", "gap_report", "scrub", "vote_counts"]

MAX_GAP_CHARS = 1000


_LANGUAGE_OF = select(Resident.language).where(Resident.chat_id == bindparam("chat_id"))


@db.retry_transient()
class StorePreferences:
    """The dialogue's ``Preferences`` in the store (table ``resident``)."""

    def __init__(self, engine: Engine):
        self.engine = engine

    def get_language(self, user_id: int) -> str | None:
        # Read on every update: a plain SELECT, without the ORM's per-object work.
        with self.engine.connect() as conn:
            return conn.execute(_LANGUAGE_OF, {"chat_id": user_id}).scalar()

    def set_language(self, user_id: int, lang: str) -> None:
        with Session(self.engine) as s:
            row = s.get(Resident, user_id)
            if row is None:
                s.add(Resident(chat_id=user_id, language=lang))
            else:
                row.language = lang
                row.updated_at = utcnow()
                s.add(row)
            s.commit()

    def forget(self, user_id: int) -> bool:
        with Session(self.engine) as s:
            # Outbox rows tie a chat to a newsletter (e.g. the women's newsletter): personal data,
            # erased too. Rows not yet sent are simply never sent.
            s.exec(delete(Delivery).where(Delivery.chat_id == user_id))
            s.exec(delete(Subscription).where(Subscription.chat_id == user_id))
            found = s.exec(delete(Resident).where(Resident.chat_id == user_id)).rowcount
            s.commit()
            return bool(found)


@db.retry_transient()
class StoreRecorder:
    """The dialogue's ``Recorder`` in the store (tables ``gap`` and ``vote``)."""

    def __init__(self, engine: Engine):
        self.engine = engine

    def record_gap(self, text: str, lang: str) -> None:
        with Session(self.engine) as s:
            # Scrubbed of names, addresses, contacts and control characters (NUL, which
            # PostgreSQL's text cannot hold, among them): bot/residents/scrub.py.
            s.add(Gap(lang=lang, text=scrub(text)[:MAX_GAP_CHARS]))
            s.commit()

    def record_referral(self, text: str, lang: str, topic: str) -> None:
        """A question answered by a referral: kept like a gap (scrubbed, no user id), with its topic."""
        with Session(self.engine) as s:
            s.add(Gap(lang=lang, text=scrub(text)[:MAX_GAP_CHARS], topic=topic[:64]))
            s.commit()

    def record_safety(self, topic: str) -> None:
        """One more safety card for ``topic`` today. The message itself is never stored."""
        day = utcnow().date()
        with Session(self.engine) as s:
            updated = s.exec(
                update(SafetyCount)
                .where(SafetyCount.topic == topic, SafetyCount.day == day)
                .values(count=SafetyCount.count + 1)
            ).rowcount
            if not updated:
                s.add(SafetyCount(topic=topic, day=day, count=1))
            s.commit()

    def record_vote(self, entity: str, key: str, up: bool) -> None:
        with Session(self.engine) as s:
            s.add(Vote(entity=entity, key=key, up=up))
            s.commit()


@dataclass
class GapGroup:
    text: str
    count: int
    languages: dict[str, int]
    first: datetime
    last: datetime


def gap_report(engine: Engine, since: datetime | None = None, *, topic: str | None = None) -> list[GapGroup]:
    """Unanswered questions (or, with ``topic``, those a referral answered) grouped by their
    normalised text, most frequent first."""
    with Session(engine) as s:
        q = select(Gap).where(Gap.topic.is_(None) if topic is None else Gap.topic == topic).order_by(Gap.id)
        if since is not None:
            q = q.where(Gap.created_at >= since)
        rows = s.exec(q).all()
    groups: dict[str, list[Gap]] = defaultdict(list)
    for g in rows:
        groups[normalise(g.text) or g.text].append(g)
    out = [
        GapGroup(
            text=items[-1].text,
            count=len(items),
            languages=dict(Counter(g.lang for g in items)),
            first=items[0].created_at,
            last=items[-1].created_at,
        )
        for items in groups.values()
    ]
    out.sort(key=lambda g: (-g.count, g.text))
    return out


def referral_topics(engine: Engine, since: datetime | None = None) -> list[tuple[str, int]]:
    """(topic, how many questions a referral answered), most asked first."""
    counts: Counter[str] = Counter()
    with Session(engine) as s:
        q = select(Gap.topic).where(Gap.topic.is_not(None))
        if since is not None:
            q = q.where(Gap.created_at >= since)
        counts.update(s.exec(q).all())
    return sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))


def safety_counts(engine: Engine, since: datetime | None = None) -> dict[str, int]:
    """Safety cards shown per topic (counts only: the messages are never stored)."""
    out: Counter[str] = Counter()
    with Session(engine) as s:
        q = select(SafetyCount)
        if since is not None:
            q = q.where(SafetyCount.day >= since.date())
        for row in s.exec(q).all():
            out[row.topic] += row.count
    return dict(out)


def vote_counts(engine: Engine) -> dict[tuple[str, str], tuple[int, int]]:
    """(entity, key) -> (👍, 👎)."""
    counts: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0])
    with Session(engine) as s:
        for v in s.exec(select(Vote)).all():
            counts[(v.entity, v.key)][0 if v.up else 1] += 1
    return {k: (a, b) for k, (a, b) in counts.items()}
