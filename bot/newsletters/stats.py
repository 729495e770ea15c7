"""Where newsletter issues stand: delivery counts per state and language, the list of issues,
and how many subscribers a newsletter has (``ankommen newsletter status`` / ``list``, the
coordinators' desk). Read-only; each function is one retried unit (``bot/store/db.py``).
"""

from __future__ import annotations

from collections import Counter

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from bot.models import Delivery, NewsletterIssue, Subscription
from bot.newsletters.issues import get_issue
from bot.store import db


@db.retrying
def status(engine: Engine, issue_id: int) -> dict:
    """Counts per delivery state and per language, for ``ankommen newsletter status``."""
    issue = get_issue(engine, issue_id)
    with Session(engine) as s:
        rows = s.exec(
            select(Delivery.language, Delivery.state, sa.func.count())
            .where(Delivery.issue_id == issue_id)
            .group_by(Delivery.language, Delivery.state)
        ).all()
    states: Counter[str] = Counter()
    languages: dict[str, dict[str, int]] = {}
    for lang, state, n in rows:
        states[state] += n
        languages.setdefault(lang, {})[state] = n
    return {
        "id": issue.id,
        "newsletter": issue.newsletter,
        "state": issue.state,
        "languages_written": sorted(issue.texts),
        "scheduled_at": issue.scheduled_at.isoformat() if issue.scheduled_at else None,
        "started_at": issue.started_at.isoformat() if issue.started_at else None,
        "finished_at": issue.finished_at.isoformat() if issue.finished_at else None,
        "total": sum(states.values()),
        "states": dict(sorted(states.items())),
        "languages": {k: dict(sorted(v.items())) for k, v in sorted(languages.items())},
    }


@db.retrying
def list_issues(engine: Engine) -> list[dict]:
    with Session(engine) as s:
        issues = s.exec(
            select(
                NewsletterIssue.id,
                NewsletterIssue.newsletter,
                NewsletterIssue.state,
                NewsletterIssue.scheduled_at,
                NewsletterIssue.created_at,
                NewsletterIssue.texts,
            ).order_by(NewsletterIssue.id)
        ).all()
    return [
        {
            "id": i,
            "newsletter": n,
            "state": st,
            "scheduled_at": at.isoformat() if at else None,
            "created_at": created.isoformat(),
            "languages": sorted(texts),
        }
        for i, n, st, at, created, texts in issues
    ]


@db.retrying
def subscriber_count(engine: Engine, newsletter: str) -> int:
    with Session(engine) as s:
        return s.exec(
            select(sa.func.count())
            .select_from(Subscription)
            .where(Subscription.newsletter == newsletter, Subscription.status == "active")
        ).one()
