"""The implementation report the concept asks for every two years (measure 7.16).

Built from the status history in the store: grouped by field of action, one row per measure with
its current status, last update, progress, note and who reported it. Measures are highlighted
when they are **overdue** (a status request unanswered for longer than the reminder time) or
**stale** (the last answer is more than six months old). A chart shows the statuses per field
(matplotlib, Agg backend, PNG); the HTML report embeds it, so it is one self-contained file. The
formats are in ``bot.staff.report_formats`` (the HTML from an autoescaped Jinja2 template).

The report is written in German: it is an official document for the city's committees, and the
measures' official texts are German. ``--since`` limits the history section to one period.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

import sqlalchemy as sa
from sqlmodel import Session, select

from bot.content.catalog import Catalog, pick_text
from bot.i18n import Translations
from bot.models import STALE_AFTER as MODEL_STALE_AFTER
from bot.models import Prompt, StaffMember, StatusReport
from bot.staff.directory import measure_key

STALE_AFTER = MODEL_STALE_AFTER  # a status older than this is marked stale
NO_REPORT = "none"
FORMATS = ("html", "md", "csv")
# Chart colours per status (colour-blind-safe palette, Okabe-Ito), and grey for "no report".
COLOURS = {
    "implemented": "#009E73",
    "on_track": "#56B4E9",
    "delayed": "#E69F00",
    "not_started": "#CC79A7",
    "continuous": "#0072B2",
    "dropped": "#D55E00",
    NO_REPORT: "#BBBBBB",
}


@dataclass
class Row:
    number: str
    title: str
    text_de: str
    responsible_de: str
    status: str | None = None
    progress: int | None = None
    note: str | None = None
    reported_at: datetime | None = None
    reporter: str | None = None
    corrected: bool = False
    overdue: bool = False
    stale: bool = False


@dataclass
class Section:
    number: int
    title: str
    rows: list[Row] = field(default_factory=list)

    def counts(self) -> Counter:
        return Counter(r.status or NO_REPORT for r in self.rows)


@dataclass
class HistoryEntry:
    reported_at: datetime
    number: str
    status: str
    progress: int | None
    note: str | None
    reporter: str | None
    corrects: bool


@dataclass
class ReportData:
    generated_at: datetime
    since: datetime | None
    sections: list[Section]
    history: list[HistoryEntry]
    timezone: str = "Europe/Berlin"

    @property
    def rows(self) -> list[Row]:
        return [r for s in self.sections for r in s.rows]


def collect(
    engine, catalog: Catalog, *, now: datetime, since: datetime | None = None, overdue_after: timedelta
) -> ReportData:
    with Session(engine) as s:
        staff = {m.id: f"{m.name} ({m.organisation})" for m in s.exec(select(StaffMember)).all()}
        latest_ids = select(sa.func.max(StatusReport.id)).group_by(StatusReport.measure_number)
        latest = {
            r.measure_number: r for r in s.exec(select(StatusReport).where(StatusReport.id.in_(latest_ids)))
        }
        overdue = set(
            s.exec(
                select(Prompt.measure_number)
                .where(Prompt.state.in_(("due", "sending", "sent")), Prompt.due_at <= now - overdue_after)
                .distinct()
            ).all()
        )
        history_q = select(StatusReport).order_by(StatusReport.reported_at, StatusReport.id)
        if since is not None:
            history_q = history_q.where(StatusReport.reported_at >= since)
        history = [
            HistoryEntry(
                r.reported_at,
                r.measure_number,
                r.status,
                r.progress,
                r.note,
                staff.get(r.staff_id) if r.staff_id else None,
                r.corrects_id is not None,
            )  # fmt: skip
            for r in s.exec(history_q).all()
        ]
    sections = []
    for number in sorted(catalog.fields):
        fv = catalog.fields[number]
        section = Section(number, fv.title_de)
        for m in sorted(fv.measures, key=measure_key):
            mv = catalog.measures[m]
            text = pick_text(mv.texts, "de")
            row = Row(mv.printed_number, text.title if text else "", mv.text_de, mv.responsible_de)
            rep = latest.get(m)
            if rep is not None:
                row.status, row.progress, row.note = rep.status, rep.progress, rep.note
                row.reported_at = rep.reported_at
                row.reporter = staff.get(rep.staff_id) if rep.staff_id else None
                row.corrected = rep.corrects_id is not None
                row.stale = now - rep.reported_at > STALE_AFTER
            row.overdue = m in overdue
            section.rows.append(row)
        sections.append(section)
    return ReportData(now, since, sections, history)


def for_core(core, *, now: datetime, since: datetime | None = None) -> ReportData:
    """``collect`` with the store, catalog and reminder time of a ``bot.cli.wiring.Core``."""
    overdue_after = timedelta(days=core.settings.reminder_days)
    return collect(core.engine, core.catalog, now=now, since=since, overdue_after=overdue_after)


# -- the chart ------------------------------------------------------------------------------------
def write(fmt: str, out: Path, data: ReportData, translations: Translations) -> list[Path]:
    """Write the report; returns the files written (Markdown gets its chart as a PNG beside it)."""
    from bot.staff.report_formats import chart_png, render_csv, render_html, render_md  # they import this

    out.parent.mkdir(parents=True, exist_ok=True)
    if fmt == "csv":
        out.write_text(render_csv(data), encoding="utf-8")
        return [out]
    png = chart_png(data, translations)
    if fmt == "html":
        out.write_text(render_html(data, translations, png), encoding="utf-8")
        return [out]
    chart = out.with_suffix(".png")
    chart.write_bytes(png)
    out.write_text(render_md(data, translations, chart.name), encoding="utf-8")
    return [out, chart]
