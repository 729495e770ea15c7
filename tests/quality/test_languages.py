"""Ten languages: complete catalogs and content, language choice and detection, right to left,
locale formatting, and search quality on the multilingual evaluation sets."""

from __future__ import annotations

import re
import unicodedata
from datetime import UTC, datetime

import pytest
import yaml
from babel.dates import format_date
from babel.messages.plurals import get_plural
from babel.messages.pofile import read_po
from sqlmodel import Session, select

from bot import paths
from bot.content.catalog import Catalog
from bot.languages import FSI, PDI, SUPPORTED_LANGUAGES, is_rtl, native_name
from bot.models import StatusReport
from bot.residents.dialogue import Dialogue
from bot.residents.ports import MemoryPreferences
from bot.search.text import detect_language
from tests.helpers import run_cli

LOCALES = paths.LOCALES_DIR
PLACEHOLDER = re.compile(r"\{(\w*)\}")
TAG = re.compile(r"</?[a-z]+>")


def _template(locales=LOCALES):
    with (locales / "messages.pot").open("rb") as fh:
        return read_po(fh)


def _catalog(lang, locales=LOCALES):
    with (locales / lang / "LC_MESSAGES" / "messages.po").open("rb") as fh:
        return read_po(fh, locale=lang)


def _forms(msg) -> list[str]:
    return list(msg.string) if isinstance(msg.string, tuple | list) else [msg.string]


def catalog_problems(lang: str, locales=LOCALES) -> list[str]:
    """Untranslated, fuzzy, missing or renamed placeholders, changed tags, wrong plural forms."""
    problems = []
    template = _template(locales)
    cat = _catalog(lang, locales)
    expected_plural = get_plural(lang)
    if cat.num_plurals != expected_plural.num_plurals or cat.plural_expr != expected_plural.plural_expr:
        problems.append(f"{lang}: Plural-Forms differ from CLDR ({expected_plural.plural_forms})")
    for tmsg in template:
        if not tmsg.id:
            continue
        msg = cat.get(tmsg.id)
        key = tmsg.id if isinstance(tmsg.id, str) else tmsg.id[0]
        if msg is None:
            problems.append(f"{lang}: missing {key!r}")
            continue
        if msg.fuzzy:
            problems.append(f"{lang}: fuzzy {key!r}")
        ids = [tmsg.id] if isinstance(tmsg.id, str) else list(tmsg.id)
        want = set(PLACEHOLDER.findall(ids[-1]))
        tags = sorted(TAG.findall(ids[-1]))
        forms = _forms(msg)
        if isinstance(tmsg.id, tuple | list) and len(forms) != cat.num_plurals:
            problems.append(f"{lang}: {key!r} has {len(forms)} plural forms, needs {cat.num_plurals}")
        for form in forms:
            if not form or not form.strip():
                problems.append(f"{lang}: untranslated {key!r}")
            elif set(PLACEHOLDER.findall(form)) != want:
                problems.append(f"{lang}: placeholders of {key!r} differ: {form!r}")
            elif sorted(TAG.findall(form)) != tags:
                problems.append(f"{lang}: tags of {key!r} differ: {form!r}")
    return problems


@pytest.mark.parametrize("lang", SUPPORTED_LANGUAGES)
def test_every_catalog_is_complete(lang):
    assert catalog_problems(lang) == []


def test_the_catalog_test_catches_each_kind_of_fault(tmp_path):
    """The check above must fail on an untranslated, a fuzzy and a renamed-placeholder message."""
    source = (LOCALES / "ru" / "LC_MESSAGES" / "messages.po").read_text(encoding="utf-8")
    broken = source.replace(
        'msgid "Page {page} of {pages}"\nmsgstr "', 'msgid "Page {page} of {pages}"\nmsgstr "{seite} '
    )
    broken = broken.replace('msgid "Goals"\nmsgstr "Цели"', 'msgid "Goals"\nmsgstr ""')
    broken = broken.replace('msgid "Help"\n', '#, fuzzy\nmsgid "Help"\n')
    assert broken != source
    fake = tmp_path / "locales"
    (fake / "ru" / "LC_MESSAGES").mkdir(parents=True)
    (fake / "ru" / "LC_MESSAGES" / "messages.po").write_text(broken, encoding="utf-8")
    (fake / "messages.pot").write_bytes((LOCALES / "messages.pot").read_bytes())
    found = "\n".join(catalog_problems("ru", fake))
    assert "untranslated 'Goals'" in found and "fuzzy 'Help'" in found and "placeholders of 'Page" in found


# Names of people, offices and newsletters go into a neutral slot: after a label's colon, in
# parentheses, after the measure number in a list line, or at the start. Never into a sentence's
# grammar ("staff of {organisation}" became "Mitarbeitende von Sozial- und Wohnungsamt"), where
# the case, article or gender a language needs cannot be had from a bare name.
NAMES = re.compile(r"\{(name|organisation|title)\}")
NEUTRAL_BEFORE = (": ", ":\u00a0", "(", "} ", "\n")


def glued_names(text: str) -> list[str]:
    glued = []
    for m in NAMES.finditer(text):
        before, after = text[: m.start()], text[m.end() : m.end() + 1]
        if not before:
            neutral = after in ("", ":")  # a label ("{name}: …"), never a sentence's subject
        else:
            neutral = before.endswith(NEUTRAL_BEFORE) and not (after.isalnum() or (after and after in "'’-"))
        if not neutral:
            glued.append(m.group(0))
    return glued


@pytest.mark.parametrize("lang", SUPPORTED_LANGUAGES)
def test_names_stand_in_neutral_slots_in_every_sentence(lang):
    bad = []
    for msg in _catalog(lang):
        if msg.id:
            ids = [msg.id] if isinstance(msg.id, str) else list(msg.id)
            bad += [(i, glued_names(i)) for i in ids if glued_names(i)]
            bad += [(f, glued_names(f)) for f in _forms(msg) if f and glued_names(f)]
    assert bad == []
    assert glued_names("Welcome! This chat is linked as staff of {organisation}.") == ["{organisation}"]
    assert glued_names("{title} aboneliğiniz başladı.") == ["{title}"]
    assert glued_names("{name} will get your requests.") == ["{name}"]
    assert glued_names("Sie vertreten {name}.") == ["{name}"]
    assert not glued_names("Name: {name}") and not glued_names("{number} {title}: {name} ({organisation})")


ENTITIES = {"fields": 7, "goals": 64, "measures": 59, "offers": 22}


@pytest.mark.parametrize("lang", SUPPORTED_LANGUAGES)
def test_content_is_complete_and_marked_machine_made(lang):
    for name, count in ENTITIES.items():
        doc = yaml.safe_load((paths.DATA_DIR / "i18n" / lang / f"{name}.yaml").read_text(encoding="utf-8"))
        entries = doc[name]
        assert len(entries) == count, (lang, name)
        for key, e in entries.items():
            assert e.get("title") and e.get("summary") and e.get("keywords"), (lang, name, key)
            # machine-made until a person has reviewed it (and says so with reviewed_by)
            assert e.get("machine") is True or e.get("reviewed_by"), (lang, name, key)
            if name == "offers":
                assert e.get("access"), (lang, key)


LATIN_WORD = re.compile(r"^[a-z0-9' .-]+$")
GERMAN_LOANS = {
    "wohnung",
    "vermieter",
    "jobcenter",
    "ausländerbehörde",
    "kita",
    "heim",
    "ausbildung",
    "anerkennung",
}


@pytest.mark.parametrize("lang", [c for c in SUPPORTED_LANGUAGES if c != "de"])
def test_keywords_carry_german_loan_words(lang):
    words = set()
    for name in ("measures", "offers"):
        doc = yaml.safe_load((paths.DATA_DIR / "i18n" / lang / f"{name}.yaml").read_text(encoding="utf-8"))
        for e in doc[name].values():
            words.update(k.lower() for k in e["keywords"])
    assert len(GERMAN_LOANS & words) >= 6, sorted(GERMAN_LOANS - words)


@pytest.mark.parametrize("lang", ["ar", "fa", "ru", "uk"])
def test_non_latin_languages_have_latin_spellings(lang):
    latin = set()
    for name in ("measures", "offers"):
        doc = yaml.safe_load((paths.DATA_DIR / "i18n" / lang / f"{name}.yaml").read_text(encoding="utf-8"))
        for e in doc[name].values():
            latin.update(k for k in e["keywords"] if LATIN_WORD.match(k.lower()))
    latin -= GERMAN_LOANS
    assert len(latin) >= 40, sorted(latin)


@pytest.fixture
def all_langs(catalog, translations):
    return Dialogue(catalog, translations, MemoryPreferences())


def test_picker_shows_all_ten_in_their_own_script_with_the_suggestion_marked(all_langs):
    [reply] = all_langs.start(1, suggested="uk-UA")
    labels = [b.label.removeprefix("✓ ") for row in reply.buttons for b in row]
    data = [b.data for row in reply.buttons for b in row]
    # One order on every screen, so "3" means the same language whichever was suggested.
    assert data == [f"L:{c}" for c in all_langs.languages] and len(data) == 10
    assert [b.label for row in reply.buttons for b in row][data.index("L:uk")] == "✓ Українська"
    assert data == [b.data for row in all_langs.start(9, suggested="ar")[0].buttons for b in row]
    for code in SUPPORTED_LANGUAGES:
        assert native_name(code) in labels
    assert {"العربية", "فارسی", "Українська", "Русский", "Türkçe", "Polski", "Română", "Tiếng Việt"} <= set(
        labels
    )
    # Dari speakers (Telegram "prs") get Persian suggested
    marked = [
        b.data
        for row in all_langs.start(2, suggested="prs")[0].buttons
        for b in row
        if b.label.startswith("✓")
    ]
    assert marked == ["L:fa"]


@pytest.mark.parametrize(
    "text, lang",
    [
        ("صاحب البيت بدو يطلعنا من الشقة", "ar"),
        ("صاحبخونه میگه باید خونه رو خالی کنیم", "fa"),
        ("Де знайти курси німецької мови?", "uk"),
        ("Где найти курсы немецкого языка?", "ru"),
        ("Ev sahibi beni evden çıkarmak istiyor", "tr"),
        ("Właściciel mieszkania chce nas wyrzucić", "pl"),
        ("Proprietarul vrea să ne dea afară din casă", "ro"),
        ("Chủ nhà muốn đuổi chúng tôi ra khỏi nhà", "vi"),
        ("My landlord wants to throw us out", "en"),
        ("Mein Vermieter will uns rauswerfen", "de"),
    ],
)
def test_query_language_is_detected_and_the_answer_offers_to_switch(all_langs, text, lang):
    assert detect_language(text) == lang
    chosen = "en" if lang != "en" else "de"
    all_langs.prefs.set_language(3, chosen)
    replies = all_langs.handle_text(3, text)
    assert replies[0].lang == chosen and not replies[0].toast  # answered in the chosen language
    offer = replies[-1]
    assert offer.lang == lang and offer.buttons == [
        [type(offer.buttons[0][0])(native_name(lang), f"L:{lang}")]
    ]


def _outside_isolates(text: str) -> str:
    return re.sub(f"{FSI}[^{PDI}]*{PDI}", "", text)


@pytest.mark.parametrize("lang", ["ar", "fa"])
def test_rtl_cards_isolate_numbers_and_latin_names(all_langs, lang):
    all_langs.prefs.set_language(4, lang)
    for question in ("Vermieter Kündigung", "Sprachkurs Integrationskurs", "Psychosoziales Zentrum PSZ"):
        for reply in all_langs.handle_text(4, question):
            plain = re.sub(r"<[^>]+>", "", reply.html)
            if reply.lang != lang:
                continue
            rest = _outside_isolates(plain)
            assert not re.search(r"[A-Za-z0-9]", rest), rest
            assert is_rtl(lang) and f"{FSI}" in plain
            for row in reply.buttons:
                for b in row:
                    assert not re.search(r"[A-Za-z0-9]", _outside_isolates(b.label)), b.label


def test_ltr_replies_carry_no_isolates(all_langs):
    all_langs.prefs.set_language(5, "de")
    for reply in all_langs.handle_text(5, "Vermieter Kündigung"):
        assert FSI not in reply.html and PDI not in reply.html


def test_dates_and_numbers_follow_the_locale(core_engine, translations):
    when = datetime(2026, 10, 12, 10, tzinfo=UTC)
    with Session(core_engine) as s:
        s.add(StatusReport(measure_number="4.44", status="on_track", reported_at=when))
        s.commit()
    try:
        d = Dialogue(Catalog.load(core_engine), translations, MemoryPreferences())
        for lang in SUPPORTED_LANGUAGES:
            card = d.measure_card(lang, d.catalog.measures["4.44"])
            expected = format_date(when.date(), format="long", locale=lang)
            assert unicodedata.normalize("NFC", expected) in card.html.replace(FSI, "").replace(PDI, ""), lang
        d.prefs.set_language(6, "de")
        [notice, *_] = d.handle_text(6, "Wohnung " * 300)
        assert "1.000" in notice.html  # German grouping
        d.prefs.set_language(6, "en")
        assert "1,000" in d.handle_text(6, "Wohnung " * 300)[0].html
    finally:
        with Session(core_engine) as s:
            for r in s.exec(select(StatusReport)).all():
                s.delete(r)
            s.commit()


MULTI = [
    c
    for p in sorted((paths.PROJECT_ROOT / "bench").glob("questions_multilingual_*.yaml"))
    for c in yaml.safe_load(p.read_text(encoding="utf-8"))
]


def test_multilingual_evaluation_meets_the_quality_bar(catalog):
    """Questions in ten languages written apart from the keywords: the right measure in the top
    3 for 85% overall and 75% in every language; 70% of out-of-scope questions get nothing."""
    assert len([c for c in MULTI if c["expect"]]) >= 150
    assert {c["lang"] for c in MULTI} == set(SUPPORTED_LANGUAGES)
    per: dict[str, list[bool]] = {}
    oos = []
    for c in MULTI:
        hits = catalog.index.search(c["q"], limit=3, lang=c["lang"])
        if c["expect"]:
            per.setdefault(c["lang"], []).append(any(h.measure in c["expect"] for h in hits))
        else:
            oos.append(not hits)
    overall = sum(sum(v) for v in per.values()) / sum(len(v) for v in per.values())
    worst = min(per, key=lambda k: sum(per[k]) / len(per[k]))
    assert overall >= 0.85, overall
    assert sum(per[worst]) / len(per[worst]) >= 0.75, worst
    assert sum(oos) / len(oos) >= 0.7


@pytest.mark.parametrize(
    "lang, question, expect_script",
    [
        ("ar", "صاحب البيت بدو يطلعنا من الشقة، شو لازم اعمل", r"[\u0600-\u06ff]"),
        ("fa", "صاحبخونه میگه باید خونه رو خالی کنیم، کجا کمک بگیرم", r"[\u0600-\u06ff]"),
        ("uk", "Орендодавець хоче нас виселити з квартири, що робити?", r"[\u0400-\u04ff]"),
    ],
)
def test_console_chat_end_to_end(tmp_path, lang, question, expect_script):
    # 1: pick the suggested language; the question; 1: "more results" or the first button; quit
    r = run_cli(
        "chat",
        "--lang",
        lang,
        env={"ANKOMMEN_STATE_DIR": str(tmp_path)},
        input=f"1\n{question}\n/help\n/quit\n",
    )
    assert r.returncode == 0, r.stderr
    out = r.stdout
    assert native_name(lang) in out
    assert re.search(expect_script, out)
    assert "4.14" in out  # housing counselling answers the question
    assert "/privacy" in out  # the help text lists the commands


@pytest.mark.parametrize(
    "query, lang, expected",
    [
        ("kursy dlia zhinok", "uk", "1.33"),
        ("perevodchik v vedomstvo", "ru", "7.4"),
    ],
)
def test_latin_typed_russian_and_ukrainian_find_cyrillic_keywords(catalog, query, lang, expected):
    """Transliteration folding: none of these Latin spellings is a keyword; the Cyrillic words are."""
    for path in (paths.DATA_DIR / "i18n").glob("*/*.yaml"):
        assert query.split()[-1] not in path.read_text(encoding="utf-8").lower()
    hits = catalog.index.search(query, lang=lang, limit=3)
    assert expected in {h.measure for h in hits}


def test_other_endings_of_a_cyrillic_or_arabic_stem_match():
    """Inflected forms share a stem: "обстрілів" finds "обстріли" without typo matching."""
    from bot.search.index import SearchDoc, SearchIndex

    index = SearchIndex(
        [
            SearchDoc("measure", "4.30", ("4.30",), [("обстріли", 3.0, "uk"), ("Bombardierung", 3.0, "de")]),
            SearchDoc("measure", "4.14", ("4.14",), [("квартира", 3.0, "ru"), ("المدرسة", 3.0, "ar")]),
        ]
    )
    assert "обстріли" in dict(index._candidates("обстрілів", fuzzy=False))
    assert "квартира" in dict(index._candidates("квартирах", fuzzy=False))
    assert "مدرسه" in dict(index._candidates("مدرستي", fuzzy=False))
    # Latin-script words are left to the typo and compound rules
    assert "bombardierung" not in dict(index._candidates("bombardierungen", fuzzy=False))
