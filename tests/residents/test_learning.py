"""Learning from residents: unanswered questions (scrubbed, no user id) and votes, and the
operator commands ``ankommen gaps`` and ``ankommen feedback``."""

from __future__ import annotations

import json
import unicodedata
from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import Session, select

from bot.cli.wiring import open_core
from bot.models import Gap
from bot.residents.store import StoreRecorder, scrub
from bot.settings import Settings
from tests.botapi import FakeBotApi
from tests.helpers import run_cli
from tests.tgharness import PollingBot


def test_scrub_removes_phones_and_emails_but_keeps_the_question():
    text = "Wohnung weg! Ruf an: +49 (391) 540-1234 oder 0171/2345678, mail max.m@example.org"
    out = scrub(text)
    assert "540" not in out and "2345678" not in out and "example.org" not in out
    assert out.startswith("Wohnung weg!") and out.count("[phone]") == 2 and "[e-mail]" in out
    assert scrub("Ich bin 12 Jahre alt, Maßnahme 4.14") == "Ich bin 12 Jahre alt, Maßnahme 4.14"


def test_gaps_and_feedback_commands(tmp_path):
    settings = Settings.from_env({"ANKOMMEN_STATE_DIR": str(tmp_path)})
    core = open_core(settings)
    d = core.dialogue()
    for _ in range(3):
        d.handle_text(1, "Wie wird das Wetter morgen?")
    d.handle_text(2, "wie wird das wetter morgen")  # same question, other spelling
    d.handle_text(2, "Wer hat das Spiel gewonnen? schreib mir an a.b@example.org")
    d.handle_text(3, "Vermieter Kündigung")  # answered: not a gap
    rec = StoreRecorder(core.engine)
    rec.record_vote("offer", "housing-counselling", True)
    rec.record_vote("offer", "housing-counselling", True)
    rec.record_vote("measure", "2.17", False)
    with Session(core.engine) as s:
        old = Gap(lang="de", text="alte Frage", created_at=datetime.now(UTC) - timedelta(days=40))
        s.add(old)
        s.commit()
        assert all("@" not in g.text for g in s.exec(select(Gap)).all())
    core.engine.dispose()
    env = {"ANKOMMEN_STATE_DIR": str(tmp_path)}

    r = run_cli("gaps", "--json", env=env)
    assert r.returncode == 0, r.stderr
    groups = json.loads(r.stdout)
    assert groups[0]["count"] == 4 and groups[0]["languages"] == {"de": 4}
    assert any("[e-mail]" in g["text"] for g in groups)
    assert not any("Vermieter" in g["text"] for g in groups)
    since = (datetime.now(UTC) - timedelta(days=7)).strftime("%Y-%m-%d")
    recent = json.loads(run_cli("gaps", "--json", "--since", since, env=env).stdout)
    assert "alte Frage" not in {g["text"] for g in recent} and len(recent) == len(groups) - 1
    table = run_cli("gaps", env=env).stdout
    assert table.splitlines()[0].startswith("Unanswered questions") and "4" in table.splitlines()[2]
    assert run_cli("gaps", "--since", "yesterday", env=env).returncode == 2

    r = run_cli("feedback", "--json", env=env)
    rows = {(x["kind"], x["id"]): x for x in json.loads(r.stdout)}
    assert rows[("offer", "housing-counselling")]["up"] == 2
    assert rows[("offer", "housing-counselling")]["measure"] == "4.14"
    assert rows[("measure", "2.17")]["down"] == 1
    assert "housing-counselling" in run_cli("feedback", env=env).stdout


# -- what a gap keeps (findings 8 and 14) -------------------------------------------------------------
# (question, what must not be kept, the placeholder that replaces it), in all ten languages.
PERSONAL = [
    ("Hallo, ich bin Fatima Yilmaz und suche eine Wohnung", ["Fatima", "Yilmaz"], "[name]"),
    ("ich heiße ahmed und wohne in der Lindenallee 12", ["ahmed", "Lindenallee", "12"], "[name]"),
    (
        "Mein Name ist Olena Kovalenko, ich wohne Breiter Weg 5a",
        ["Olena", "Kovalenko", "Breiter", "5a"],
        "[address]",
    ),
    (
        "Ruf mich an: null eins sieben eins zwei drei vier fünf sechs sieben",
        ["sieben eins", "fünf"],
        "[phone]",
    ),
    ("my name is John Smith and I live at 12 Baker Street", ["John", "Smith", "Baker"], "[name]"),
    ("I'm Ahmed, write to ahmed at example dot org", ["Ahmed", "example", "ahmed at"], "[e-mail]"),
    ("call zero one seven one double two three four five", ["seven one", "double"], "[phone]"),
    ("اسمي فاطمة احمد وعندي مشكلة في السكن", ["فاطمة", "احمد"], "[name]"),
    ("رقمي صفر واحد سبعة واحد اثنين ثلاثة اربعة", ["سبعة واحد"], "[phone]"),
    ("اسم من فاطمه است و در خیابان آزادی 12 زندگی می‌کنم", ["فاطمه", "آزادی"], "[address]"),
    ("Мене звати Олена Коваль, вул. Шевченка 3", ["Олена", "Коваль", "Шевченка"], "[address]"),
    ("Меня зовут Анна Петрова, живу на ул. Ленина 5", ["Анна", "Петрова", "Ленина"], "[name]"),
    ("звоните ноль один семь один два три четыре", ["семь один"], "[phone]"),
    ("Benim adım Ayşe Demir, Atatürk Caddesi No: 5", ["Ayşe", "Demir", "Atatürk"], "[address]"),
    ("Nazywam się Anna Nowak, mieszkam ul. Długa 5", ["Anna", "Nowak", "Długa"], "[address]"),
    ("Mă numesc Ion Popescu, str. Mihai Eminescu 10", ["Ion", "Popescu", "Eminescu"], "[address]"),
    ("Tôi tên là Nguyễn Văn An, số 5 đường Lê Lợi", ["Nguyễn", "Lê Lợi"], "[address]"),
    (
        "mail: fatima(at)example(dot)org oder f.y [at] mail [dot] de",
        ["fatima", "example", "mail [dot]"],
        "[e-mail]",
    ),
    ("schreib mir auf telegram @fatima_y123 oder t.me/fatima_y123", ["fatima_y123"], "[username]"),
]
# Questions that carry nothing personal stay as they are.
KEPT = [
    "Ich bin 12 Jahre alt, Maßnahme 4.14",
    "Ich bin schwanger und brauche Hilfe",
    "I am from Syria and need a flat",
    "Ich habe drei Kinder und zwei Jobs",
    "Sprachkurs am Montag um 9",
    "Wo ist der Integrationskurs am Breiten Weg?",
    "Ich brauche einen Kitaplatz für 2 Kinder",
    "Arbeitsplatz 3 Tage die Woche",
    "tôi là người Việt, cần học tiếng Đức",
    "Wie wird das Wetter morgen?",
]


@pytest.mark.parametrize("text,gone,placeholder", PERSONAL)
def test_scrub_removes_names_addresses_handles_and_spelled_contacts(text, gone, placeholder):
    out = scrub(text)
    assert placeholder in out, out
    for word in gone:
        assert word not in out, (word, out)


@pytest.mark.parametrize("text", KEPT)
def test_scrub_keeps_questions_without_personal_data(text):
    assert scrub(text) == text


def test_scrub_drops_control_characters_and_bidi_controls():
    out = scrub("Miete\x1b[2J\x1b]0;pwned\x07 zu hoch\x9b31m\nund \u202eevil\u202c \u2066x\u2069\tok\x00")
    assert not any(unicodedata.category(c) == "Cc" for c in out)
    assert not set(out) & set("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f")
    assert out.startswith("Miete[2J]0;pwned zu hoch31m und evil x ok")
    assert scrub("می‌خواهم") == "می‌خواهم"  # the zero-width non-joiner of Persian stays


def test_gaps_from_telegram_are_scrubbed_and_printed_without_raw_control_characters(tmp_path):
    """Against the loopback Bot API: residents' unanswered questions are stored scrubbed; a row
    written before the rule (raw escape sequences) is printed escaped by ankommen gaps."""
    settings = Settings.from_env({"ANKOMMEN_STATE_DIR": str(tmp_path)})
    core = open_core(settings)
    with FakeBotApi() as api:
        runner = PollingBot(core, api).start()
        try:
            for chat, (text, _gone, _placeholder) in enumerate(PERSONAL, start=9100):
                api.say(chat, "Wetter morgen? " + text)
            api.say(9200, "Wetter morgen\x1b[2J\x1b]0;pwned\x07 \u202eevil\u202c?")
        finally:
            runner.stop()
    with Session(core.engine) as s:
        stored = [g.text for g in s.exec(select(Gap)).all()]
        s.add(Gap(lang="de", text="alt\x1b[31mrot\x9b0m \u202eumgedreht"))  # from before the rule
        s.commit()
    core.engine.dispose()
    assert len(stored) >= len(PERSONAL) // 2  # most of them found no answer (some did: no gap)
    everything_gone = {word for _text, gone, _placeholder in PERSONAL for word in gone}
    assert not [(word, g) for g in stored for word in everything_gone if word in g]
    assert "Wetter morgen[2J]0;pwned evil?" in stored
    assert all(not any(unicodedata.category(c) == "Cc" for c in g) and "\u202e" not in g for g in stored)

    env = {"ANKOMMEN_STATE_DIR": str(tmp_path)}
    for args in (("gaps",), ("gaps", "--json")):
        out = run_cli(*args, env=env)
        assert out.returncode == 0, out.stderr
        raw = [c for c in out.stdout if c not in "\n" and (unicodedata.category(c) == "Cc" or c == "\u202e")]
        assert raw == [], args
    table = run_cli("gaps", env=env).stdout
    assert "alt\\x1b[31mrot\\x9b0m \\u202eumgedreht" in table
    rows = json.loads(run_cli("gaps", "--json", env=env).stdout)
    assert "alt\x1b[31mrot\x9b0m \u202eumgedreht" in {r["text"] for r in rows}  # the same JSON value
