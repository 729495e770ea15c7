"""The 7.16 report's formats: the chart (matplotlib, Agg backend, PNG), HTML from the
autoescaped Jinja2 template ``bot/templates/report.html`` with the chart embedded, Markdown with
every value escaped, and CSV whose cells can never start a spreadsheet formula.

The data comes from ``bot.staff.report`` (``collect``); this module only writes it down.
"""

from __future__ import annotations

import base64
import csv
import functools
import html
import io
import re
import textwrap
from datetime import datetime
from zoneinfo import ZoneInfo

import jinja2
from babel.dates import format_date, format_datetime

from bot import paths
from bot.chat.replies import status_label
from bot.i18n import Translations
from bot.models import STATUS_VALUES
from bot.residents.scrub import strip_controls
from bot.staff.report import COLOURS, NO_REPORT, ReportData, Row, Section


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


@functools.cache
def _templates() -> jinja2.Environment:
    """The report's templates (bot/templates/), autoescaped: a value is HTML-escaped unless marked
    safe, and the templates mark none. Built once per process."""
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(paths.TEMPLATES_DIR),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def _heading(section: Section) -> str:
    return f"Handlungsfeld {section.number}: {section.title}" if section.number < 7 else section.title


def _percent(progress: int | None) -> str:
    return "" if progress is None else f"{progress} %"


def render_html(data: ReportData, translations: Translations, png: bytes) -> str:
    _ = translations.get("de").gettext
    tz = ZoneInfo(data.timezone)
    rows = data.rows
    summary = [
        (len(rows), "Maßnahmen"),
        (sum(r.status is not None for r in rows), "mit Meldung"),
        (sum(r.overdue for r in rows), "überfällig"),
        (sum(r.stale for r in rows), "veraltet (über sechs Monate)"),
    ]
    return (
        _templates()
        .get_template("report.html")
        .render(
            generated=format_datetime(data.generated_at.astimezone(tz), "medium", locale="de"),
            since=_fmt_day(data.since, tz) if data.since else None,
            summary=summary,
            chart=base64.b64encode(png).decode(),
            sections=data.sections,
            history=data.history,
            heading=_heading,
            status=lambda status: _status_text(status, _),
            flags=_flags,
            percent=_percent,
            day=lambda moment: _fmt_day(moment, tz),
        )
    )


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
        lines += [
            f"## {_md_text(_heading(section))}",
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
