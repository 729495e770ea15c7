"""The implementation report the concept asks for every two years (measure 7.16).

Built from the status history in the store: grouped by field of action, one row per measure with
its current status, last update, progress, note and who reported it. Measures are highlighted
when they are **overdue** (a status request unanswered for longer than the reminder time) or
**stale** (the last answer is more than six months old). A chart shows the statuses per field
(matplotlib, Agg backend, PNG); the HTML report embeds it, so it is one self-contained file.

The report is written in German: it is an official document for the city's committees, and the
measures' official texts are German. ``--since`` limits the history section to one period.
"""

from __future__ import annotations

import base64
import csv
import html
import io
import re
import textwrap
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from babel.dates import format_date, format_datetime
from sqlmodel import Session, select

from bot.chat.replies import status_label
from bot.content.catalog import Catalog, pick_text
from bot.i18n import Translations
from bot.models import STATUS_VALUES, Prompt, StaffMember, StatusReport
from bot.residents.scrub import strip_controls
from bot.staff.directory import measure_key

STALE_AFTER = timedelta(days=183)
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
def chart_png(data: ReportData, translations: Translations) -> bytes:
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt
    from matplotlib.figure import Figure

    _ = translations.get("de").gettext
    keys = [*STATUS_VALUES, NO_REPORT]
    labels = [
        textwrap.fill(
            textwrap.shorten(f"{s.number}. {s.title}" if s.number < 7 else s.title, 70, placeholder=" …"), 30
        )
        for s in data.sections
    ]
    fig = Figure(figsize=(9, 0.75 * len(labels) + 2.2), dpi=110)
    ax = fig.subplots()
    left = [0] * len(data.sections)
    for key in keys:
        values = [s.counts().get(key, 0) for s in data.sections]
        name = status_label(_, key) if key != NO_REPORT else "noch keine Meldung"
        ax.barh(labels, values, left=left, color=COLOURS[key], label=name)
        left = [a + b for a, b in zip(left, values, strict=True)]
    ax.invert_yaxis()
    ax.tick_params(axis="y", labelsize=8)
    ax.set_xlabel("Anzahl der Maßnahmen")
    ax.set_title("Umsetzungsstand je Handlungsfeld", loc="left")
    ax.spines[["top", "right"]].set_visible(False)
    fig.legend(loc="lower center", ncol=4, fontsize=8, frameon=False)
    fig.tight_layout(rect=(0, 0.09, 1, 1))
    buf = io.BytesIO()
    fig.savefig(buf, format="png", bbox_inches="tight")
    plt.close("all")
    return buf.getvalue()


# -- renderers --------------------------------------------------------------------------------------
def _fmt_day(moment: datetime | None, tz: ZoneInfo) -> str:
    return format_date(moment.astimezone(tz).date(), format="medium", locale="de") if moment else "–"


def _status_text(row_status: str | None, _) -> str:
    return status_label(_, row_status) if row_status else "noch keine Meldung"


def _flags(row: Row) -> list[str]:
    return [label for flag, label in ((row.overdue, "überfällig"), (row.stale, "veraltet")) if flag]


def render_html(data: ReportData, translations: Translations, png: bytes) -> str:
    _ = translations.get("de").gettext
    tz = ZoneInfo(data.timezone)
    e = html.escape
    rows = data.rows
    overdue = sum(r.overdue for r in rows)
    stale = sum(r.stale for r in rows)
    missing = sum(r.status is None for r in rows)
    out = [
        "<!DOCTYPE html>",
        '<html lang="de"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        "<title>Umsetzungsbericht Integrationskonzept (Maßnahme 7.16)</title>",
        "<style>",
        "body{font-family:system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;margin:2rem auto;max-width:72rem;"
        "padding:0 1rem;color:#1b1b1b;line-height:1.4}",
        "h1{font-size:1.6rem}h2{font-size:1.2rem;margin-top:2rem;border-bottom:2px solid #444}",
        "table{border-collapse:collapse;width:100%;font-size:.9rem}th,td{border:1px solid #ccc;padding:.35rem .5rem;"
        "vertical-align:top;text-align:left}th{background:#f0f0f0}",
        "tr.overdue td{background:#fde2e2}tr.stale td{background:#fff4d6}",
        ".badge{display:inline-block;font-size:.75rem;padding:0 .4rem;border-radius:.6rem;border:1px solid #777;"
        "margin-left:.3rem}",
        ".summary{display:flex;gap:1.5rem;flex-wrap:wrap}.summary div{background:#f6f6f6;padding:.5rem 1rem;"
        "border-radius:.4rem}",
        "img{max-width:100%;height:auto}details{font-size:.85rem;color:#444}",
        "</style></head><body>",
        "<h1>Umsetzungsbericht zum Integrationskonzept der Landeshauptstadt Magdeburg</h1>",
        f"<p>Maßnahme 7.16 · Stand: {e(format_datetime(data.generated_at.astimezone(tz), 'medium', locale='de'))}",
    ]
    if data.since:
        out.append(f" · Meldungen seit {e(_fmt_day(data.since, tz))}")
    out.append("</p>")
    out.append(
        '<div class="summary">'
        f"<div><b>{len(rows)}</b> Maßnahmen</div>"
        f"<div><b>{len(rows) - missing}</b> mit Meldung</div>"
        f"<div><b>{overdue}</b> überfällig</div>"
        f"<div><b>{stale}</b> veraltet (über sechs Monate)</div></div>"
    )
    out.append(
        f'<h2>Übersicht</h2><img id="chart" alt="Umsetzungsstand je Handlungsfeld" '
        f'src="data:image/png;base64,{base64.b64encode(png).decode()}">'
    )
    for section in data.sections:
        heading = f"Handlungsfeld {section.number}: {section.title}" if section.number < 7 else section.title
        out.append(f"<h2>{e(heading)}</h2>")
        out.append(
            "<table><thead><tr><th>Nr.</th><th>Maßnahme</th><th>Status</th><th>Fortschritt</th>"
            "<th>Letzte Meldung</th><th>Gemeldet von</th><th>Notiz</th></tr></thead><tbody>"
        )
        for r in section.rows:
            cls = "overdue" if r.overdue else "stale" if r.stale else ""
            badges = "".join(f'<span class="badge">{e(f)}</span>' for f in _flags(r))
            if r.corrected:
                badges += '<span class="badge">korrigiert</span>'
            out.append(
                f'<tr class="{cls}"><td>{e(r.number)}</td><td>{e(r.title)}'
                f"<details><summary>Wortlaut und Verantwortung</summary>{e(r.text_de)}<br><i>{e(r.responsible_de)}</i>"
                f"</details></td><td>{e(_status_text(r.status, _))}{badges}</td>"
                f"<td>{'' if r.progress is None else f'{r.progress} %'}</td><td>{e(_fmt_day(r.reported_at, tz))}</td>"
                f"<td>{e(r.reporter or '–')}</td><td>{e(r.note or '')}</td></tr>"
            )
        out.append("</tbody></table>")
    out.append("<h2>Verlauf der Meldungen</h2>")
    if data.history:
        out.append(
            "<table><thead><tr><th>Datum</th><th>Nr.</th><th>Status</th><th>Fortschritt</th><th>Gemeldet von</th>"
            "<th>Notiz</th></tr></thead><tbody>"
        )
        for h in data.history:
            status = _status_text(h.status, _) + (" (Korrektur)" if h.corrects else "")
            out.append(
                f"<tr><td>{e(_fmt_day(h.reported_at, tz))}</td><td>{e(h.number)}</td><td>{e(status)}</td>"
                f"<td>{'' if h.progress is None else f'{h.progress} %'}</td><td>{e(h.reporter or '–')}</td>"
                f"<td>{e(h.note or '')}</td></tr>"
            )
        out.append("</tbody></table>")
    else:
        out.append("<p>Keine Meldungen in diesem Zeitraum.</p>")
    out.append(
        "<p><small>Erstellt von Ankommen aus den Statusmeldungen der verantwortlichen Stellen.</small></p>"
    )
    out.append("</body></html>")
    return "\n".join(out)


# Markdown that a note, a name or a title could carry: every inline marker is backslash-escaped
# and HTML is escaped, so "[x](javascript:…)", "<img onerror=…>", "<javascript:…>", **bold**
# and table pipes are shown as typed, never rendered as links, tags or markup.
_MD_MARKERS = re.compile(r"([\\`*_\[\]{}()!|~#])")


def _md_text(value: str) -> str:
    text = " ".join(strip_controls(value).split())
    return _MD_MARKERS.sub(r"\\\1", html.escape(text, quote=False))


def render_md(data: ReportData, translations: Translations, chart_name: str | None) -> str:
    _ = translations.get("de").gettext
    tz = ZoneInfo(data.timezone)
    lines = [
        "# Umsetzungsbericht zum Integrationskonzept (Maßnahme 7.16)",
        "",
        f"Stand: {format_datetime(data.generated_at.astimezone(tz), 'medium', locale='de')}"
        + (f" · Meldungen seit {_fmt_day(data.since, tz)}" if data.since else ""),
        "",
    ]
    if chart_name:
        lines += [f"![Umsetzungsstand je Handlungsfeld]({chart_name})", ""]
    for section in data.sections:
        heading = f"Handlungsfeld {section.number}: {section.title}" if section.number < 7 else section.title
        lines += [
            f"## {_md_text(heading)}",
            "",
            "| Nr. | Maßnahme | Status | Fortschritt | Letzte Meldung | Gemeldet von | Notiz |",
        ]
        lines.append("| --- | --- | --- | --- | --- | --- | --- |")
        for r in section.rows:
            status = _md_text(_status_text(r.status, _)) + "".join(f" **{f}**" for f in _flags(r))
            cells = [
                _md_text(r.number), _md_text(r.title), status, "" if r.progress is None else f"{r.progress} %",
                _md_text(_fmt_day(r.reported_at, tz)), _md_text(r.reporter or "–"), _md_text(r.note or ""),
            ]  # fmt: skip
            lines.append("| " + " | ".join(cells) + " |")
        lines.append("")
    lines += ["## Verlauf der Meldungen", ""]
    for h in data.history:
        lines.append(
            f"- {_md_text(_fmt_day(h.reported_at, tz))} · {_md_text(h.number)} · {_md_text(_status_text(h.status, _))}"
            + (" (Korrektur)" if h.corrects else "")
            + (f" · {h.progress} %" if h.progress is not None else "")
            + f" · {_md_text(h.reporter or '–')}"
            + (f" · {_md_text(h.note)}" if h.note else "")
        )
    if not data.history:
        lines.append("Keine Meldungen in diesem Zeitraum.")
    return "\n".join(lines) + "\n"


# OWASP's CSV injection rule: a cell that starts like a formula is prefixed with a single quote,
# so a spreadsheet shows it as text instead of running it ("=HYPERLINK(…)" in a note or a name).
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _csv_cell(value) -> str:
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_START) else text


def render_csv(data: ReportData) -> str:
    buf = io.StringIO()
    w = _SafeWriter(csv.writer(buf))
    w.writerow(
        [
            "field",
            "measure",
            "title_de",
            "status",
            "progress",
            "reported_at",
            "reported_by",
            "note",
            "overdue",
            "stale",
        ]
    )
    for section in data.sections:
        for r in section.rows:
            w.writerow(
                [
                    section.number,
                    r.number,
                    r.title,
                    r.status or "",
                    "" if r.progress is None else r.progress,
                    r.reported_at.isoformat() if r.reported_at else "",
                    r.reporter or "",
                    r.note or "",
                    int(r.overdue),
                    int(r.stale),
                ]  # fmt: skip
            )
    return buf.getvalue()


class _SafeWriter:
    """A ``csv.writer`` whose every cell goes through ``_csv_cell``."""

    def __init__(self, writer):
        self.writer = writer

    def writerow(self, row) -> None:
        self.writer.writerow([_csv_cell(v) for v in row])


def write(fmt: str, out: Path, data: ReportData, translations: Translations) -> list[Path]:
    """Write the report; returns the files written (Markdown gets its chart as a PNG beside it)."""
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
