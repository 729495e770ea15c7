"""The implementation report (measure 7.16): content in all three formats, and that the HTML page
really renders in a browser (Debian's headless Chromium), chart included."""

from __future__ import annotations

import csv
import html
import io
import os
import re
import shutil
import subprocess
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from matplotlib import image as mpimg
from sqlmodel import Session

from bot.content.catalog import Catalog
from bot.content.importer import import_content
from bot.i18n import Translations
from bot.models import Prompt
from bot.staff import report, report_formats
from bot.staff.directory import StaffDirectory
from bot.store import db

NOW = datetime(2026, 11, 30, 10, 0, tzinfo=UTC)
REQUIRE_BROWSER = os.environ.get("ANKOMMEN_REQUIRE_BROWSER") == "1"


@pytest.fixture(scope="module")
def filled(tmp_path_factory, content):
    eng = db.make_engine(f"sqlite:///{tmp_path_factory.mktemp('report') / 'r.db'}")
    db.upgrade(eng)
    import_content(eng, content)
    catalog = Catalog.load(eng)
    directory = StaffDirectory(eng, catalog.measures)
    anna = directory.add("Anna <Beispiel>", "Sozial- und Wohnungsamt")
    directory.assign(anna.id, ["4.14", "4.3", "1.24"])
    directory.record(
        anna, "4.14", "implemented", progress=100, note="Läuft | gut & stabil", now=NOW - timedelta(days=3)
    )
    directory.record(anna, "1.24", "on_track", now=NOW - timedelta(days=400))  # stale
    directory.record(anna, "4.14", "implemented", progress=90, now=NOW - timedelta(days=2))
    with Session(eng) as s:  # 4.3: asked 20 days ago, no answer: overdue
        s.add(Prompt(measure_number="4.3", staff_id=anna.id, due_at=NOW - timedelta(days=20), state="sent"))
        s.commit()
    data = report.collect(
        eng, catalog, now=NOW, since=NOW - timedelta(days=30), overdue_after=timedelta(days=7)
    )
    yield data
    eng.dispose()


def test_collect_groups_by_field_and_flags_overdue_and_stale(filled):
    data = filled
    assert [s.number for s in data.sections] == list(range(1, 8))
    assert len(data.rows) == 59
    rows = {r.number: r for r in data.rows}
    assert (rows["4.14"].status, rows["4.14"].progress) == ("implemented", 90)  # the newest counts
    assert rows["4.14"].reporter == "Anna <Beispiel> (Sozial- und Wohnungsamt)"
    assert rows["4.3"].overdue and not rows["4.3"].stale and rows["4.3"].status is None
    assert rows["1.24"].stale and not rows["1.24"].overdue
    assert not rows["4.14"].stale and not rows["4.14"].overdue
    assert [h.number for h in data.history] == ["4.14", "4.14"]  # --since leaves out the old one
    section4 = next(s for s in data.sections if s.number == 4)
    assert section4.counts()["implemented"] == 1


def test_html_is_escaped_self_contained_and_md_csv_agree(filled, tmp_path):
    t = Translations()
    html_file, md_file, csv_file = tmp_path / "r.html", tmp_path / "r.md", tmp_path / "r.csv"
    report.write("html", html_file, filled, t)
    page = html_file.read_text()
    assert "Anna &lt;Beispiel&gt;" in page and "<Beispiel>" not in page
    assert page.count("data:image/png;base64,") == 1 and "http" not in page.split("<body>")[1]
    assert page.count('class="overdue"') == 1 and page.count('class="stale"') == 1
    written = report.write("md", md_file, filled, t)
    assert written[1].read_bytes().startswith(b"\x89PNG")
    md = md_file.read_text()
    row_414 = next(line for line in md.splitlines() if line.startswith("| 4.14 |"))
    assert "Läuft" not in row_414  # the table shows the newest record; the history keeps the old
    assert "Läuft \\| gut &amp; stabil" in md
    assert "**überfällig**" in md and "**veraltet**" in md
    report.write("csv", csv_file, filled, t)
    rows = list(csv.DictReader(io.StringIO(csv_file.read_text())))
    assert len(rows) == 59
    by = {r["measure"]: r for r in rows}
    assert by["4.3"]["overdue"] == "1" and by["1.24"]["stale"] == "1" and by["4.14"]["progress"] == "90"


def _chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")


def test_html_report_renders_in_a_headless_browser(filled, tmp_path):
    browser = _chromium()
    if browser is None:
        if REQUIRE_BROWSER:
            pytest.fail("Chromium is required (ANKOMMEN_REQUIRE_BROWSER=1) but not installed")
        pytest.skip("no Chromium on this machine (.ci/run installs Debian's chromium)")
    page = tmp_path / "report.html"
    report.write("html", page, filled, Translations())
    shot = tmp_path / "shot.png"
    subprocess.run(
        [
            browser,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--hide-scrollbars",
            f"--user-data-dir={tmp_path / 'profile'}",
            "--window-size=1200,1400",
            f"--screenshot={shot}",
            page.as_uri(),
        ],  # fmt: skip
        check=True,
        capture_output=True,
        timeout=90,
    )
    pixels = mpimg.imread(shot)[:, :, :3]
    assert pixels.shape[0] >= 1000 and pixels.shape[1] >= 1000
    # The chart's colours appear only in the embedded PNG: if it failed to decode, they are missing.
    for colour in (report.COLOURS["implemented"], report.COLOURS["on_track"], report.COLOURS["none"]):
        rgb = np.array([int(colour[i : i + 2], 16) / 255 for i in (1, 3, 5)])
        close = np.all(np.abs(pixels - rgb) < 0.03, axis=2)
        assert close.sum() > 200, f"the chart colour {colour} is not on the rendered page"
    # Not blank: text rendered (dark pixels) on a light page.
    assert (pixels.mean(axis=2) < 0.3).sum() > 5000


# -- hostile notes and names (findings 9 and 18) ----------------------------------------------------------
FORMULAS = ['=HYPERLINK("http://x","klick")', "+1+2", "-2+3", "@SUM(A1:A9)"]
MARKUP = (
    "<img src=x onerror=alert(1)> [klick](javascript:alert(1)) <javascript:alert(2)> "
    "![bild](http://x/y.png) **fett** `code` <script>alert(3)</script> a|b & c"
)


@pytest.fixture
def hostile(sqlite_store, catalog_of):
    eng = sqlite_store
    catalog = catalog_of(eng)
    directory = StaffDirectory(eng, catalog.measures)
    measures = ["1.24", "2.1", "3.1", "4.3"]
    for number, formula in zip(measures, FORMULAS, strict=True):
        member = directory.add(formula, "=Amt")
        directory.record(member, number, "on_track", note=formula, now=NOW - timedelta(days=1))
    member = directory.add("<b>Mallory</b> [x](javascript:alert(4))", "Amt")
    directory.record(member, "7.16", "delayed", note=MARKUP, now=NOW)
    directory.record(member, "6.2", "delayed", note="alt", now=NOW - timedelta(days=400))  # stale
    yield report.collect(eng, catalog, now=NOW, overdue_after=timedelta(days=7))
    eng.dispose()


def test_csv_cells_that_start_like_a_formula_are_quoted(hostile, tmp_path):
    out = tmp_path / "r.csv"
    report.write("csv", out, hostile, Translations())
    cells = [c for row in csv.reader(io.StringIO(out.read_text(), newline="")) for c in row]
    assert not [c for c in cells if c.startswith(report_formats.FORMULA_START)]
    for formula in FORMULAS:
        assert "'" + formula in cells  # the text itself is kept, as text
        assert "'" + formula + " (=Amt)" in cells  # the reporter's name too
    # Notes and names are stripped when stored, so a leading tab or CR reaches a cell only this way:
    assert [report_formats._csv_cell(v) for v in ("\t=1", "\r=1", "a=1", 90, None)] == [
        "'\t=1",
        "'\r=1",
        "a=1",
        "90",
        "",
    ]


def test_markdown_shows_notes_and_names_as_typed_never_as_links_or_html(hostile, tmp_path):
    out = tmp_path / "r.md"
    report.write("md", out, hostile, Translations())
    md = out.read_text()
    for raw in (
        "<img",
        "<script",
        "<javascript",
        "<b>",
        "](javascript:",
        "](http://x/y.png)",
        "**fett**",
        "`code`",
    ):
        assert raw not in md, raw
    row = next(line for line in md.splitlines() if line.startswith("| 7.16 |"))
    cells = [c.strip() for c in re.split(r"(?<!\\)\|", row)[1:-1]]
    assert len(cells) == 7  # a pipe in the note does not add a column
    shown = html.unescape(re.sub(r"\\(.)", r"\1", cells[-1]))
    assert shown == MARKUP  # what a reader sees is exactly what was typed
    stale = next(line for line in md.splitlines() if line.startswith("| 6.2 |"))
    assert "**veraltet**" in stale  # the report's own markup stays
    assert "&lt;b&gt;Mallory&lt;/b&gt; \\[x\\]\\(javascript:alert\\(4\\)\\)" in md


def test_html_escapes_a_script_in_a_note_or_a_name(hostile, tmp_path):
    """The HTML comes from an autoescaped Jinja2 template: a note or a reporter's name with a
    <script>, a tag or a link is shown as typed and never becomes markup."""
    out = tmp_path / "r.html"
    report.write("html", out, hostile, Translations())
    page = out.read_text()
    body = page.split("<body>", 1)[1]
    for raw in ("<script", "<img src=x", "<b>Mallory", "<javascript", "onerror=alert(1)>"):
        assert raw not in body, raw
    assert "&lt;script&gt;alert(3)&lt;/script&gt;" in body and "&lt;b&gt;Mallory&lt;/b&gt;" in body
    row = next(line for line in page.splitlines() if line.startswith("<tr") and "<td>7.16</td>" in line)
    cells = re.findall(r"<td>(.*?)</td>", row)
    assert html.unescape(cells[-1]) == MARKUP  # the note, exactly as typed
    assert html.unescape(cells[-2]) == "<b>Mallory</b> [x](javascript:alert(4)) (Amt)"
    history = [
        line for line in page.split("Verlauf der Meldungen")[1].splitlines() if "<td>7.16</td>" in line
    ]
    assert [html.unescape(re.findall(r"<td>(.*?)</td>", line)[-1]) for line in history] == [MARKUP]
