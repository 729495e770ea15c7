"""Newsletter subscriptions (table ``subscription``): chat id, newsletter, status, language.

Leaving deletes the row. Delivery sets ``blocked`` (HTTP 403) or ``inactive`` (HTTP 400 chat not
found; ``bot/newsletters/outbox_store.py``). The console keeps them in memory, Telegram in the store.
"""

from __future__ import annotations

from typing import Protocol

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from bot.models import Resident, Subscription
from bot.newsletters.definitions import Newsletter
from bot.store import db


class Subscriptions(Protocol):
    """Where residents' subscriptions are kept (memory for the console, the store for Telegram)."""

    newsletters: dict[str, Newsletter]

    def active(self, chat_id: int) -> set[str]: ...

    def subscribe(self, chat_id: int, newsletter: str, lang: str) -> None: ...

    def unsubscribe(self, chat_id: int, newsletter: str) -> bool: ...


class MemorySubscriptions:
    def __init__(self, newsletters: dict[str, Newsletter]):
        self.newsletters = newsletters
        self._subs: dict[int, set[str]] = {}

    def active(self, chat_id: int) -> set[str]:
        return set(self._subs.get(chat_id, ()))

    def subscribe(self, chat_id: int, newsletter: str, lang: str) -> None:
        self._subs.setdefault(chat_id, set()).add(newsletter)

    def unsubscribe(self, chat_id: int, newsletter: str) -> bool:
        had = newsletter in self._subs.get(chat_id, set())
        self._subs.get(chat_id, set()).discard(newsletter)
        return had


@db.retry_transient()
class StoreSubscriptions:
    """Subscriptions in the store. Subscribing also creates the resident row if it is missing."""

    def __init__(self, engine: Engine, newsletters: dict[str, Newsletter]):
        self.engine = engine
        self.newsletters = newsletters

    def active(self, chat_id: int) -> set[str]:
        with Session(self.engine) as s:
            q = select(Subscription.newsletter).where(
                Subscription.chat_id == chat_id, Subscription.status == "active"
            )
            return set(s.exec(q).all())

    def subscribe(self, chat_id: int, newsletter: str, lang: str) -> None:
        for _attempt in range(3):  # a concurrent insert of the same row: read it again
            try:
                with Session(self.engine) as s:
                    if s.get(Resident, chat_id) is None:
                        s.add(Resident(chat_id=chat_id, language=lang))
                        s.flush()
                    row = s.exec(
                        select(Subscription).where(
                            Subscription.chat_id == chat_id, Subscription.newsletter == newsletter
                        )
                    ).first()
                    if row is None:
                        s.add(Subscription(chat_id=chat_id, newsletter=newsletter, language=lang))
                    else:
                        row.status, row.language = "active", lang
                        s.add(row)
                    s.commit()
                    return
            except IntegrityError:
                continue
        raise RuntimeError("could not store the subscription")

    def unsubscribe(self, chat_id: int, newsletter: str) -> bool:
        with Session(self.engine) as s:
            n = s.exec(
                sa.delete(Subscription).where(
                    Subscription.chat_id == chat_id, Subscription.newsletter == newsletter
                )
            ).rowcount
            s.commit()
            return bool(n)
