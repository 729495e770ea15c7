"""Migrations and the idempotent importer, on a real SQLite file and a real PostgreSQL."""

from __future__ import annotations

import copy
from datetime import UTC, datetime

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlmodel import Session, SQLModel, func, select

from bot.content.importer import import_content
from bot.models import (
    Measure,
    MeasureOrganisation,
    Offer,
    Resident,
    StatusReport,
    Subscription,
    Translation,
)
from bot.store import db


def test_migrations_build_exactly_the_models(any_url, engine_for):
    engine = engine_for(any_url)
    assert db.current_revision(engine) is None
    db.upgrade(engine)
    assert db.is_up_to_date(engine)
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), SQLModel.metadata)
    assert diff == []


def _counts(engine) -> dict[str, int]:
    with Session(engine) as s:
        return {
            m.__tablename__: s.exec(select(func.count()).select_from(m)).one()
            for m in (Measure, MeasureOrganisation, Offer, Translation)
        }


def test_import_is_idempotent_and_updates_in_place(any_url, engine_for, content):
    engine = engine_for(any_url)
    db.upgrade(engine)
    first = import_content(engine, content)
    assert first.inserted["measure"] == 59
    assert first.inserted["offer"] == len(content.offers)
    counts = _counts(engine)

    second = import_content(engine, content)
    assert not second.changed, second.summary()
    assert _counts(engine) == counts

    # Resident data and status history are never touched by an import.
    now = datetime.now(UTC)
    with Session(engine) as s:
        s.add(Resident(chat_id=4711, language="ar"))
        s.add(StatusReport(measure_number="4.14", status="on_track", note="läuft", reported_at=now))
        s.commit()
        s.add(Subscription(chat_id=4711, newsletter="1.24", language="ar"))
        s.commit()

    edited = copy.deepcopy(content)
    edited.texts[("measure", "4.14", "en")] = dict(
        edited.texts[("measure", "4.14", "en")], title="Housing advice (edited)"
    )
    edited.offers = [o for o in edited.offers if o["id"] != "blickwechsel"]
    for key in [k for k in edited.texts if k[0] == "offer" and k[1] == "blickwechsel"]:
        del edited.texts[key]
    third = import_content(engine, edited)
    assert third.updated["translation"] == 1
    assert third.deleted["offer"] == 1
    assert not third.inserted
    with Session(engine) as s:
        t = s.get(Translation, ("measure", "4.14", "en"))
        assert t.title == "Housing advice (edited)"
        assert s.get(Offer, "blickwechsel") is None
        assert s.get(Resident, 4711).language == "ar"
        assert s.exec(select(StatusReport)).one().note == "läuft"
        assert s.exec(select(Subscription)).one().newsletter == "1.24"

    # And back: the original content restores the offer, and a repeat changes nothing.
    assert import_content(engine, content).inserted["offer"] == 1
    assert not import_content(engine, content).changed


def test_measure_with_history_is_kept_when_it_leaves_the_data(sqlite_url, engine_for, content):
    engine = engine_for(sqlite_url)
    db.upgrade(engine)
    import_content(engine, content)
    with Session(engine) as s:
        s.add(StatusReport(measure_number="7.17", status="not_started"))
        s.commit()
    trimmed = copy.deepcopy(content)
    trimmed.measures = [m for m in trimmed.measures if m["number"] != "7.17"]
    trimmed.texts = {k: v for k, v in trimmed.texts.items() if not (k[0] == "measure" and k[1] == "7.17")}
    result = import_content(engine, trimmed)
    assert result.kept == ["7.17"]
    with Session(engine) as s:
        assert s.get(Measure, "7.17") is not None


def test_timestamps_stay_timezone_aware(any_url, engine_for, content):
    engine = engine_for(any_url)
    db.upgrade(engine)
    import_content(engine, content)
    with Session(engine) as s:
        s.add(
            StatusReport(
                measure_number="1.8",
                status="implemented",
                reported_at=datetime(2026, 10, 12, 9, 30, tzinfo=UTC),
            )
        )
        s.commit()
    with Session(engine) as s:
        got = s.exec(select(StatusReport)).one().reported_at
    assert got.tzinfo is not None and got == datetime(2026, 10, 12, 9, 30, tzinfo=UTC)
