"""Idempotent import of ``data/`` into the store.

A second run changes nothing; an edited text is updated in place; rows that left ``data/`` are
removed. Status history, staff, residents, subscriptions and newsletters are never touched.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.engine import Engine
from sqlmodel import Session, SQLModel, select

from bot.content.load import CONTACT_FIELDS, Content
from bot.models import (
    ActionField,
    Assignment,
    Goal,
    Measure,
    MeasureOrganisation,
    Offer,
    OfferMeasure,
    OfferProvider,
    Organisation,
    Prompt,
    StatusReport,
    Translation,
)


@dataclass
class ImportResult:
    inserted: Counter = field(default_factory=Counter)
    updated: Counter = field(default_factory=Counter)
    deleted: Counter = field(default_factory=Counter)
    kept: list[str] = field(default_factory=list)  # rows that left data/ but have history

    @property
    def changed(self) -> bool:
        return bool(sum(self.inserted.values()) + sum(self.updated.values()) + sum(self.deleted.values()))

    def summary(self) -> str:
        def fmt(c: Counter) -> str:
            return ", ".join(f"{k} {v}" for k, v in sorted(c.items())) or "none"

        lines = [
            f"inserted: {fmt(self.inserted)}",
            f"updated:  {fmt(self.updated)}",
            f"deleted:  {fmt(self.deleted)}",
        ]
        if self.kept:
            lines.append("kept (left data/ but has status history): " + ", ".join(self.kept))
        return "\n".join(lines)


def _pk(model: type[SQLModel]) -> tuple[str, ...]:
    return tuple(c.name for c in model.__table__.primary_key.columns)


def _desired_rows(content: Content) -> dict[type[SQLModel], list[dict[str, Any]]]:
    def contact(item: dict[str, Any]) -> dict[str, Any]:
        c = item.get("contact") or {}
        return {k: c.get(k) or None for k in CONTACT_FIELDS}

    from bot.content.checks import outdated

    stale = set(outdated(content))  # translations made from an older German text
    rows: dict[type[SQLModel], list[dict[str, Any]]] = {
        ActionField: [{"number": f["number"], "title_de": f["title_de"]} for f in content.fields],
        Organisation: [
            {
                "id": o["id"],
                "name_de": o["name_de"],
                "kind": o["kind"],
                "parent_id": o.get("parent"),
                **contact(o),
            }
            for o in content.organisations
        ],
        Measure: [
            {
                "number": m["number"],
                "note": m.get("note"),
                "field_number": m["field"],
                "position": i,
                "text_de": m["text_de"],
                "responsible_de": m["responsible_de"],
            }
            for i, m in enumerate(content.measures)
        ],
        Goal: [dict(g) for g in content.goals],
        MeasureOrganisation: [
            {
                "measure_number": m["number"],
                "position": j,
                "organisation_id": r["org"],
                "as_printed": r["as_printed"],
                "lead": bool(r.get("lead")),
            }
            for m in content.measures
            for j, r in enumerate(m.get("responsible") or [])
        ],
        Offer: [
            {
                "id": o["id"],
                "kind": o["kind"],
                "target_groups": list(o["target_groups"]),
                "position": i,
                **contact(o),
            }
            for i, o in enumerate(content.offers)
        ],
        OfferMeasure: [
            {"offer_id": o["id"], "measure_number": num, "position": j}
            for o in content.offers
            for j, num in enumerate(o["measures"])
        ],
        OfferProvider: [
            {"offer_id": o["id"], "organisation_id": p["org"], "role": p["role"], "position": j}
            for o in content.offers
            for j, p in enumerate(o["providers"])
        ],
        Translation: [
            {
                "entity": entity,
                "key": key,
                "lang": lang,
                "title": t["title"],
                "summary": t["summary"],
                "access": t.get("access"),
                "keywords": t["keywords"],
                "machine": t["machine"],
                "outdated": (entity, key, lang) in stale,
            }
            for (entity, key, lang), t in sorted(content.texts.items())
        ],
    }
    return rows


# Parents before children for inserts; the reverse for deletes.
ORDER: tuple[type[SQLModel], ...] = (
    ActionField,
    Organisation,
    Measure,
    Goal,
    MeasureOrganisation,
    Offer,
    OfferMeasure,
    OfferProvider,
    Translation,
)


def import_content(engine: Engine, content: Content) -> ImportResult:
    """Bring the content tables in line with ``content``, in one transaction."""
    result = ImportResult()
    desired = _desired_rows(content)
    with Session(engine) as session:
        existing_by_model: dict[type[SQLModel], dict[tuple, SQLModel]] = {}
        for model in ORDER:
            pk = _pk(model)
            existing_by_model[model] = {
                tuple(getattr(row, k) for k in pk): row for row in session.exec(select(model)).all()
            }
        # Deletes first, children before parents.
        for model in reversed(ORDER):
            pk = _pk(model)
            wanted = {tuple(r[k] for k in pk) for r in desired[model]}
            for key, row in existing_by_model[model].items():
                if key in wanted:
                    continue
                if model is Measure and _has_history(session, key[0]):
                    result.kept.append(key[0])
                    continue
                session.delete(row)
                result.deleted[model.__tablename__] += 1
            session.flush()
        for model in ORDER:
            pk = _pk(model)
            for values in desired[model]:
                key = tuple(values[k] for k in pk)
                row = existing_by_model[model].get(key)
                if row is None:
                    session.add(model(**values))
                    result.inserted[model.__tablename__] += 1
                    continue
                changed = False
                for name, value in values.items():
                    if getattr(row, name) != value:
                        setattr(row, name, value)
                        changed = True
                if changed:
                    session.add(row)
                    result.updated[model.__tablename__] += 1
            session.flush()
        session.commit()
    return result


def _has_history(session: Session, number: str) -> bool:
    for model in (StatusReport, Assignment, Prompt):
        if session.exec(select(model).where(model.measure_number == number).limit(1)).first():
            return True
    return False
