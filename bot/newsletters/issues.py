"""The newsletter issue life cycle: create, schedule, start sending, hold, cancel, resend.

* **Issue states**: ``draft`` → ``scheduled`` → (due) ``sending`` → ``sent``; a scheduled issue
  found more than ``hold_hours`` overdue (the bot was down) becomes ``held`` until someone sends
  it; ``cancelled`` from any state before ``sent``. ``start_sending`` creates the outbox (one
  ``Delivery`` per active subscriber) and sets ``sending`` in one transaction;
  ``bot/newsletters/outbox.py`` delivers.
* **Retries.** Every function here that touches the store is one unit of work under
  ``db.retrying`` (``bot/store/db.py``): a transient store error runs it again from the start.
  Each checks the issue's state in its ``WHERE``, so running one again after a ``COMMIT`` that
  did happen (the connection was lost during it) changes nothing more: at worst it reports an
  error or a count of 0. The exception is ``create_issue``, which may then leave a second draft
  (never sent unless someone sends it).

Definitions are ``bot/newsletters/definitions.py``, subscriptions ``subscriptions.py``, drafts
(Markdown to Telegram HTML) ``drafts.py``, counts for ``status`` and ``list`` ``stats.py``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from bot.models import Delivery, NewsletterIssue, Resident, Subscription, utcnow
from bot.store import db

if TYPE_CHECKING:
    from bot.newsletters.drafts import Draft

OPEN_STATES = ("pending", "claimed", "sending")
MISSING_LANGUAGE_POLICIES = ("german", "skip")


class IssueError(ValueError):
    """An operation the issue's state does not allow, or an unknown issue."""


def _issue(s: Session, issue_id: int) -> NewsletterIssue:
    issue = s.get(NewsletterIssue, issue_id)
    if issue is None:
        raise IssueError(f"there is no issue {issue_id}")
    return issue


@db.retrying
def create_issue(engine: Engine, draft: Draft) -> int:
    with Session(engine) as s:
        issue = NewsletterIssue(
            newsletter=draft.newsletter, texts=draft.texts, image=draft.image, image_name=draft.image_name
        )
        s.add(issue)
        s.commit()
        return issue.id


@db.retrying
def get_issue(engine: Engine, issue_id: int) -> NewsletterIssue:
    with Session(engine) as s:
        issue = _issue(s, issue_id)
        s.expunge(issue)
        return issue


@db.retrying
def _transition(engine: Engine, issue_id: int, allowed: tuple[str, ...], **values) -> str:
    """Set ``values`` if the issue is in one of ``allowed``; returns the state it had."""
    with Session(engine) as s:
        issue = _issue(s, issue_id)
        before = issue.state
        n = s.exec(
            sa.update(NewsletterIssue)
            .where(NewsletterIssue.id == issue_id, NewsletterIssue.state.in_(allowed))
            .values(**values)
        ).rowcount
        if not n:
            raise IssueError(
                f"issue {issue_id} is {before}; this is possible only when {' or '.join(allowed)}"
            )
        s.commit()
        return before


@db.retrying
def schedule(engine: Engine, issue_id: int, at: datetime, *, now: datetime | None = None) -> None:
    if at <= (now or utcnow()):
        raise IssueError("the time must be in the future")
    _transition(engine, issue_id, ("draft", "scheduled", "held"), state="scheduled", scheduled_at=at)


@db.retrying
def discard(engine: Engine, issue_id: int) -> None:
    """Discard a draft or a held issue (a coordinator's "Discard"): never one being sent or
    scheduled, which only ``cancel`` (the operator's command) stops."""
    _transition(engine, issue_id, ("draft", "held"), state="cancelled", finished_at=utcnow())


@db.retrying
def cancel(engine: Engine, issue_id: int) -> int:
    """Cancel an issue not yet sent; deliveries not yet started are cancelled too (returns how many)."""
    with Session(engine) as s:
        issue = _issue(s, issue_id)
        allowed = ("draft", "scheduled", "held", "sending")
        n = s.exec(
            sa.update(NewsletterIssue)
            .where(NewsletterIssue.id == issue_id, NewsletterIssue.state.in_(allowed))
            .values(state="cancelled", finished_at=utcnow())
        ).rowcount
        if not n:
            raise IssueError(f"issue {issue_id} is {issue.state} and cannot be cancelled")
        stopped = s.exec(
            sa.update(Delivery)
            .where(Delivery.issue_id == issue_id, Delivery.state.in_(("pending", "claimed")))
            .values(state="cancelled", worker=None, lease_until=None)
        ).rowcount
        s.commit()
        return stopped


@db.retrying
def resend_unknown(engine: Engine, issue_id: int) -> int:
    """Queue the ``unknown`` deliveries of an issue again (an editor's decision); returns how many.

    ``unknown`` rows were in flight at a crash or a timeout: some arrived, some did not, and the
    Bot API cannot say which. Sending them again reaches everyone who missed the issue, at the
    price of a second copy for those who did get it. Nothing does this automatically."""
    with Session(engine) as s:
        issue = _issue(s, issue_id)
        if issue.state not in ("sending", "sent"):
            raise IssueError(f"issue {issue_id} is {issue.state}; only a sent issue has unknown deliveries")
        n = s.exec(
            sa.update(Delivery)
            .where(Delivery.issue_id == issue_id, Delivery.state == "unknown")
            .values(state="pending", worker=None, lease_until=None, last_error=None)
        ).rowcount
        if n:
            s.exec(
                sa.update(NewsletterIssue)
                .where(NewsletterIssue.id == issue_id)
                .values(state="sending", finished_at=None)
            )
        s.commit()
        return n


def delivery_state(lang: str, texts: dict[str, str], missing_language: str) -> str:
    """A new delivery's state: ``skipped`` when the issue lacks ``lang`` and has no German text
    to fall back on, or the policy is ``skip``; else ``pending``."""
    if lang in texts:
        return "pending"
    if "de" not in texts or missing_language == "skip":
        return "skipped"
    return "pending"


@db.retrying
def start_sending(engine: Engine, issue_id: int, *, missing_language: str = "german") -> int:
    """Make the outbox and set ``sending``, in one transaction; returns the rows created.

    Idempotent: an issue already ``sending`` is left as it is (0 rows), and the unique
    (issue, chat) constraint makes a second outbox impossible anyway. Subscribers whose language
    the issue lacks get a ``skipped`` row under ``missing_language="skip"``, else a pending row
    (they receive the German text with a note).
    """
    with Session(engine) as s:
        issue = _issue(s, issue_id)
        if issue.state == "sending":
            return 0
        n = s.exec(
            sa.update(NewsletterIssue)
            .where(NewsletterIssue.id == issue_id, NewsletterIssue.state.in_(("draft", "scheduled", "held")))
            .values(state="sending", started_at=utcnow())
        ).rowcount
        if not n:
            raise IssueError(f"issue {issue_id} is {issue.state} and cannot be sent")
        subscribers = s.exec(
            select(Subscription.chat_id, Resident.language, Subscription.language)
            .join(Resident, Resident.chat_id == Subscription.chat_id)
            .where(Subscription.newsletter == issue.newsletter, Subscription.status == "active")
            .order_by(Subscription.id)
        ).all()
        have = set(s.exec(select(Delivery.chat_id).where(Delivery.issue_id == issue_id)).all())
        rows = []
        for chat_id, resident_lang, sub_lang in subscribers:
            if chat_id in have:
                continue
            lang = resident_lang or sub_lang
            state = delivery_state(lang, issue.texts, missing_language)
            rows.append({"issue_id": issue_id, "chat_id": chat_id, "language": lang, "state": state})
        if rows:
            s.execute(sa.insert(Delivery), rows)
        if not any(r["state"] == "pending" for r in rows):
            s.exec(
                sa.update(NewsletterIssue)
                .where(NewsletterIssue.id == issue_id)
                .values(state="sent", finished_at=utcnow())
            )
        s.commit()
        return len(rows)


@dataclass
class DueResult:
    started: list[int] = field(default_factory=list)
    held: list[int] = field(default_factory=list)


@db.retrying
def promote_due(
    engine: Engine, *, hold_hours: float, missing_language: str = "german", now: datetime | None = None
) -> DueResult:
    """Scheduled issues whose time has come start sending; those overdue by more than
    ``hold_hours`` are held until someone sends them (``ankommen newsletter send`` or Telegram)."""
    now = now or utcnow()
    result = DueResult()
    with Session(engine) as s:
        due = s.exec(
            select(NewsletterIssue.id, NewsletterIssue.scheduled_at).where(
                NewsletterIssue.state == "scheduled", NewsletterIssue.scheduled_at <= now
            )
        ).all()
    for issue_id, at in due:
        if now - at > timedelta(hours=hold_hours):
            try:
                _transition(engine, issue_id, ("scheduled",), state="held")
                result.held.append(issue_id)
            except IssueError:
                pass  # someone else moved it meanwhile
            continue
        try:
            start_sending(engine, issue_id, missing_language=missing_language)
            result.started.append(issue_id)
        except IssueError:
            pass
    return result


@db.retrying
def finish_done(engine: Engine) -> list[int]:
    """Issues in ``sending`` with no open delivery left become ``sent``; returns their ids."""
    with Session(engine) as s:
        open_rows = (
            select(Delivery.id)
            .where(Delivery.issue_id == NewsletterIssue.id, Delivery.state.in_(OPEN_STATES))
            .exists()
        )
        ids = s.exec(select(NewsletterIssue.id).where(NewsletterIssue.state == "sending", ~open_rows)).all()
        if ids:
            s.exec(
                sa.update(NewsletterIssue)
                .where(NewsletterIssue.id.in_(ids), NewsletterIssue.state == "sending")
                .values(state="sent", finished_at=utcnow())
            )
            s.commit()
        return list(ids)
