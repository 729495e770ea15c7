"""Honest answers: the safety card first, referrals for what the concept does not cover, stages,
and the checks that keep content from saying more than its sources."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from sqlmodel import Session, select

from bot import paths
from bot.content.catalog import Catalog
from bot.content.checks import added_facts, fingerprint, outdated, sourced_facts
from bot.content.importer import import_content
from bot.content.load import load_content
from bot.languages import SUPPORTED_LANGUAGES
from bot.models import Gap, SafetyCount
from bot.residents.answers import answer, as_json
from bot.residents.cards import STAGES
from bot.residents.dialogue import Dialogue
from bot.residents.ports import MemoryPreferences
from bot.residents.store import StoreRecorder, gap_report, referral_topics, safety_counts
from bot.store import db

ROOT = Path(__file__).resolve().parents[2]
DEV = yaml.safe_load((ROOT / "bench" / "eval" / "dev.yaml").read_text(encoding="utf-8"))

# Ordinary questions that use crisis-like words; none may get the safety card (the issue's own
# examples first; the dev set adds 40 more in ten languages).
CALM = [
    ("de", "Ich bin verzweifelt, die Wohnung ist gekündigt"),
    ("de", "Wo kann man eine muslimische Beerdigung machen?"),
    ("en", "what can i do here for killing time on sundays"),
    ("de", "Wie kann ich hier am Wochenende die Zeit totschlagen?"),
    ("en", "this form is killing me, who helps with the jobcenter letter"),
    ("ru", "умираю от скуки, какие курсы немецкого есть"),
]


def first(cat: Catalog, text: str, lang: str) -> dict | None:
    results = as_json(cat, answer(cat, text, lang, limit=5), limit=5)
    return results[0] if results else None


@pytest.mark.parametrize(
    "item", [i for i in DEV if i["kind"] == "crisis"], ids=lambda i: i["lang"] + ":" + i["q"][:30]
)
def test_every_crisis_message_of_the_dev_set_gets_the_safety_card_first(catalog, item):
    top = first(catalog, item["q"], item["lang"])
    assert top is not None and top["kind"] == "safety", top
    assert top["measure"] is None and top["id"] in catalog.safety.topics


@pytest.mark.parametrize(
    "lang,text",
    CALM + [(i["lang"], i["q"]) for i in DEV if i["kind"] == "calm"],
    ids=lambda v: v if isinstance(v, str) and len(v) <= 3 else None,
)
def test_ordinary_questions_with_crisis_words_get_no_safety_card(catalog, lang, text):
    results = as_json(catalog, answer(catalog, text, lang, limit=5), limit=5)
    assert not any(r["kind"] == "safety" for r in results), results


@pytest.mark.parametrize("lang", SUPPORTED_LANGUAGES)
def test_the_safety_card_names_every_number_with_its_purpose_and_the_date_it_was_checked(
    catalog, translations, lang
):
    d = Dialogue(catalog, translations, MemoryPreferences(), default_language=lang)
    card = d.safety_card(lang, "domestic_violence").html
    for number in ("112", "110", "0800 111 0 111", "0800 111 0 222", "116 123", "116 016", "116 111"):
        assert number in card, (lang, number)
    for contact in catalog.safety.contacts.values():
        assert contact.source.startswith("https://") and contact.checked is not None
        assert contact.purpose.get(lang), (contact.id, lang)
    day = catalog.safety.checked_on(list(catalog.safety.contacts.values()))
    assert day is not None and str(day.year) in card.translate(
        str.maketrans("٠١٢٣٤٥٦٧٨٩۰۱۲۳۴۵۶۷۸۹", "01234567890123456789")
    )
    assert "o:psychosocial-centre" in {b.data for row in d.safety_card(lang, "suicide").buttons for b in row}


def test_the_women_helpline_says_it_has_interpreters(catalog):
    helpline = next(
        c for c in catalog.safety.contacts.values() if "116 016" in c.numbers or "116016" in c.numbers
    )
    assert helpline.interpreters


def test_a_crisis_is_never_stored_as_a_gap_only_counted(sqlite_url, content, translations):
    engine = db.make_engine(sqlite_url)
    db.upgrade(engine)
    import_content(engine, content)
    cat = Catalog.load(engine)
    d = Dialogue(
        cat, translations, MemoryPreferences(), default_language="de", recorder=StoreRecorder(engine)
    )
    d.handle_button(1, "L:de")
    crisis = next(i["q"] for i in DEV if i["kind"] == "crisis" and i["lang"] == "de")
    replies = d.handle_text(1, crisis)
    assert "112" in replies[0].html
    with Session(engine) as s:
        assert s.exec(select(Gap)).all() == []
        counts = s.exec(select(SafetyCount)).all()
    assert sum(c.count for c in counts) == 1 and sum(safety_counts(engine).values()) == 1
    engine.dispose()


def test_a_referral_is_honest_names_the_counselling_and_is_counted_for_editors(
    sqlite_url, content, translations
):
    engine = db.make_engine(sqlite_url)
    db.upgrade(engine)
    import_content(engine, content)
    cat = Catalog.load(engine)
    top = first(cat, "wie verlängere ich meine aufenthaltserlaubnis", "de")
    assert top is not None and top["kind"] == "referral" and top["id"] == "residence-permit"
    assert top["measure"] == cat.referrals.topics["residence-permit"].measure
    d = Dialogue(
        cat, translations, MemoryPreferences(), default_language="de", recorder=StoreRecorder(engine)
    )
    d.handle_button(1, "L:de")
    [card] = d.handle_text(1, "wie verlängere ich meine aufenthaltserlaubnis")
    assert "Integrationskonzept" in card.html or "Konzept" in card.html
    assert "2.1" in card.html or "7.2" in card.html
    assert referral_topics(engine) == [("residence-permit", 1)]
    assert gap_report(engine) == [] and gap_report(engine, topic="residence-permit")[0].count == 1
    engine.dispose()


def test_ask_json_puts_the_safety_answer_first(tmp_path):
    env = {"ANKOMMEN_STATE_DIR": str(tmp_path), "PATH": "/usr/bin:/bin"}
    crisis = next(i for i in DEV if i["kind"] == "crisis" and i["lang"] == "en")
    out = subprocess.run(
        [sys.executable, "-m", "bot.cli", "ask", "--json", "--lang", "en", crisis["q"]],
        capture_output=True, text=True, env=env, timeout=120, cwd=ROOT,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    results = json.loads(out.stdout)["results"]
    assert results[0]["kind"] == "safety" and results[0]["measure"] is None
    assert set(results[0]) == {"kind", "id", "measure", "title", "score"}


def test_every_stage_cites_the_concept_and_the_card_shows_it(catalog, translations):
    raw = yaml.safe_load((paths.DATA_DIR / "concept" / "stages.yaml").read_text(encoding="utf-8"))["stages"]
    for number, entry in raw.items():
        m = catalog.measures[number]
        assert entry["stage"] in STAGES
        assert entry["because"] in m.text_de, number
    d = Dialogue(catalog, translations, MemoryPreferences(), default_language="en")
    de = translations.get("en").gettext
    assert (
        de("Stage: planned. The concept plans this; it is not yet something you can use.")
        in d.measure_card("en", catalog.measures["1.24"]).html
    )
    assert "Stage: under review" in d.measure_card("en", catalog.measures["4.36"]).html
    assert "Stage:" not in d.measure_card("en", catalog.measures["4.14"]).html


def test_partners_are_shown_apart_from_the_bodies_in_charge(catalog, translations):
    d = Dialogue(catalog, translations, MemoryPreferences(), default_language="en")
    card = d.measure_card("en", catalog.measures["4.36"]).html
    assert "In cooperation with:" in card and "Islamischer Gemeinde" in card.split("In cooperation with:")[1]


def _copy_data(tmp_path: Path) -> Path:
    data = tmp_path / "data"
    shutil.copytree(paths.DATA_DIR, data)
    return data


def test_data_check_refuses_a_contact_without_source_or_with_an_old_date(tmp_path):
    from datetime import date

    data = _copy_data(tmp_path)
    raw = yaml.safe_load((data / "safety.yaml").read_text(encoding="utf-8"))
    raw["contacts"][0]["source"] = None
    raw["contacts"][1]["checked"] = "2025-01-01"
    (data / "safety.yaml").write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    problems = [str(p) for p in sourced_facts(data, date(2026, 12, 3))]
    assert any("no public source" in p for p in problems)
    assert any("more than 12 months ago" in p for p in problems)
    assert sourced_facts(paths.DATA_DIR, date(2026, 12, 3)) == []


def test_data_check_flags_outdated_translations_and_translations_that_say_more(tmp_path):
    content, problems = load_content(paths.DATA_DIR)
    assert not problems
    assert outdated(content) == []
    de = content.texts[("measure", "4.14", "de")]
    en = content.texts[("measure", "4.14", "en")]
    assert en["source_de"] == fingerprint(de)
    content.texts[("measure", "4.14", "de")] = {**de, "summary": de["summary"] + " Neu."}
    assert ("measure", "4.14", "en") in outdated(content)
    content.texts[("measure", "4.14", "en")] = {
        **en,
        "summary": en["summary"] + " Call 0391 12345. Ask Caritas.",
    }
    found = [str(p) for p in added_facts(content, {}) if "4.14" in str(p) and "i18n/en/" in str(p)]
    assert any("numbers the German lacks" in p for p in found)
    assert any("sentences" in p for p in found)


def _english_sentences(translations, lang: str) -> list[str]:
    """The catalog's English message ids of four words or more that ``lang`` translates."""
    from babel.messages.pofile import read_po

    with (paths.LOCALES_DIR / lang / "LC_MESSAGES" / "messages.po").open("rb") as fh:
        po = read_po(fh)
    out = []
    for msg in po:
        if (
            msg.id
            and isinstance(msg.id, str)
            and len(msg.id.split()) >= 4
            and msg.string
            and msg.string != msg.id
        ):
            out.append(msg.id.split("{")[0].strip())
    return [s for s in out if len(s.split()) >= 3]


def _walk(d: Dialogue, user: int) -> list[str]:
    """Every screen and notice of the dialogue a resident can reach, as HTML."""
    htmls: list[str] = []

    def take(replies):
        htmls.extend(r.html for r in replies)
        return replies

    take(d.start(user))
    lang = [r for r in d.languages][0]
    for data in (
        "M",
        "A",
        "T",
        "P",
        "H",
        "N",
        "S:1.24",
        "U:1.24",
        "L",
        "D",
        "D:no",
        "O:0",
        "G:1",
        "m:1.24",
        "g:1.24",
        "o:housing-counselling",
        "m:4.36",
    ):
        take(d.handle_button(user, data))
    for cmd in ("/help", "/topics", "/privacy", "/newsletters", "/delete", "/language", "/menu", "/nonsense"):
        take(d.handle_text(user, cmd))
    for number in d.catalog.fields:
        take(d.handle_button(user, f"F:{number}"))
    for q in (
        "what is the weather tomorrow",
        "wie verlängere ich meine aufenthaltserlaubnis",
        "Wohnung Vermieter",
    ):
        take(d.handle_text(user, q))
    take([d.safety_card(d.language_of(user), "suicide")])
    take(d.unsupported(user))
    take(d.too_fast(user, 30))
    take(d.apology(user))
    take([d.expired(d.language_of(user))])
    del lang
    return htmls


@pytest.mark.parametrize("lang", [c for c in SUPPORTED_LANGUAGES if c != "en"])
def test_no_screen_shows_an_english_sentence_in_another_language(catalog, translations, lang):
    d = Dialogue(catalog, translations, MemoryPreferences(), default_language=lang)
    user = 42
    d.handle_button(user, f"L:{lang}")
    htmls = _walk(d, user)
    # A question in English offers the switch in English, on purpose; leave that reply out.
    text = "\n".join(h for h in htmls if "English" not in h or "?" not in h)
    leaked = [s for s in _english_sentences(translations, lang) if s in text]
    assert not leaked, (lang, leaked[:5])


def test_a_question_typed_at_the_picker_is_answered_in_the_suggested_language(catalog, translations):
    d = Dialogue(catalog, translations, MemoryPreferences(), default_language="de")
    d.start(7, suggested="ar")  # `chat --lang ar`, or Telegram's language_code
    replies = d.handle_text(7, "أبحث عن شقة، صاحب البيت بدو يطلعنا")
    assert replies[0].lang == "ar", [r.lang for r in replies]


def test_office_names_in_any_language_lead_to_an_honest_answer(catalog):
    for lang, text in [
        ("ar", "دائرة الأجانب"),
        ("de", "Ausländerbehörde Termin"),
        ("uk", "ауслендербехьорде"),
    ]:
        top = first(catalog, text, lang)
        assert top is not None and top["kind"] == "referral", (lang, text, top)


def test_the_development_set_meets_its_bars(catalog):
    """The figures of ``bench/eval/run.py --set dev`` (tuned on), as a floor that catches a
    regression; the held-out figures are reported in the README, never tuned on or asserted."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("evalrun", ROOT / "bench" / "eval" / "run.py")
    run = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(run)
    items = list(DEV) + run.load("eval/dev_crisis.yaml") + run.load("eval/dev_crisis2.yaml")
    for name in run.INSCOPE["dev"]:
        items += run.load(name)
    figures = {m: v["rate"] for m, v in run.evaluate(catalog, items, False)["all"].items()}
    assert figures["crisis"] >= 0.88 and figures["calm"] >= 0.98, figures
    assert figures["near"] >= 0.8 and figures["oos"] >= 0.8, figures
    assert figures["top1"] >= 0.88 and figures["top3"] >= 0.93, figures
