"""The ``ankommen`` command line, run as a real subprocess on a real SQLite file."""

from __future__ import annotations

import json

import pytest

from tests.helpers import run_cli
from tests.support.inputs import seed_measure_rows


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    state = tmp_path_factory.mktemp("cli")
    e = {"ANKOMMEN_STATE_DIR": str(state)}
    result = run_cli("import", env=e)
    assert result.returncode == 0, result.stderr
    return e


def test_ask_json_finds_housing_counselling(env):
    r = run_cli("ask", "--json", "Wo bekomme ich Hilfe, mein Vermieter hat mir gekündigt?", env=env)
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert out["lang"] == "de"
    first = out["results"][0]
    assert set(first) == {"kind", "id", "measure", "title", "score"}
    assert (first["kind"], first["id"], first["measure"]) == ("offer", "housing-counselling", "4.14")


def test_ask_json_weather_has_no_results(env):
    r = run_cli("ask", "--json", "Wie wird das Wetter morgen?", env=env)
    assert r.returncode == 0
    assert json.loads(r.stdout)["results"] == []


def test_ask_jsonl_keeps_its_public_shape(env):
    lines = "\n".join(
        [
            json.dumps({"query": "my landlord wants to throw us out", "lang": "en"}),
            json.dumps({"query": "Einbürgerung"}),
            "not json",
            json.dumps({"query": "recipe for apple pie", "lang": "en"}),
            json.dumps({"query": "Anerkennung Zeugnis", "lang": "xx"}),
        ]
    )
    r = run_cli("ask", "--jsonl", "--limit", "3", env=env, input=lines + "\n")
    assert r.returncode == 0, r.stderr
    rows = [json.loads(line) for line in r.stdout.splitlines()]
    assert len(rows) == 5
    assert rows[0]["lang"] == "en" and rows[0]["results"][0]["measure"] == "4.14"
    assert rows[0]["results"][0]["title"] == "Advice on housing"
    assert rows[1]["lang"] == "de" and rows[1]["results"][0]["measure"] == "5.43"
    assert "error" in rows[2] and "error" in rows[4]
    assert rows[3]["results"] == []
    for row in (rows[0], rows[1], rows[3]):
        assert set(row) == {"query", "lang", "results"}
        assert len(row["results"]) <= 3
        scores = [h["score"] for h in row["results"]]
        assert scores == sorted(scores, reverse=True)


def test_measures_json_lists_exactly_the_59_with_verbatim_texts(env):
    r = run_cli("measures", "--json", env=env)
    assert r.returncode == 0, r.stderr
    rows = json.loads(r.stdout)
    seed = seed_measure_rows()
    assert len(rows) == 59
    for row, (printed, text, responsible) in zip(rows, seed, strict=True):
        assert printed.split()[0] == row["number"]
        assert " ".join(row["text_de"].split()) == " ".join(text.split())
        assert " ".join(row["responsible"].split()) == " ".join(responsible.split())
        assert row["field"] == int(row["number"].split(".")[0])
        assert row["status"] is None
    r4 = json.loads(run_cli("measures", "--json", "--field", "4", env=env).stdout)
    assert [m["number"] for m in r4][:3] == ["4.3", "4.5", "4.6"] and len(r4) == 15


def test_import_twice_changes_nothing(env):
    r = run_cli("import", env=env)
    assert r.returncode == 0
    assert "nothing changed" in r.stdout


def test_db_upgrade_reports_the_revision(env):
    from alembic.script import ScriptDirectory

    from bot import paths

    head = ScriptDirectory(str(paths.MIGRATIONS_DIR)).get_current_head()
    r = run_cli("db", "upgrade", env=env)
    assert r.returncode == 0 and f"revision {head} " in r.stdout


def test_run_without_token_explains_and_opens_the_console(env):
    r = run_cli("run", "--lang", "en", env=env, input="/quit\n")
    assert r.returncode == 0, r.stderr
    assert "TELEGRAM_BOT_TOKEN" in r.stdout
    assert "Please choose your language." in r.stdout


def test_console_chat_end_to_end(env):
    script = "2\nmy landlord wants to throw us out\n1\n/quit\n"
    r = run_cli("chat", "--lang", "en", env=env, input=script)
    assert r.returncode == 0, r.stderr
    out = r.stdout
    # The picker keeps one order on every screen (the suggestion is marked, not moved first).
    assert "[1] Deutsch" in out and "[2] ✓ English" in out
    assert "What would you like to do?" in out
    assert "Advice on housing" in out and "Offer for measure 4.14" in out
    # Pressing [1] on the card opens the official German text.
    assert "Diverse Beratungsangebote zum Thema Wohnen" in out
    assert "Traceback" not in out + r.stderr


def test_console_chat_quits_on_end_of_input(env):
    r = run_cli("chat", env=env, input="")
    assert r.returncode == 0
    assert "Bitte wählen Sie Ihre Sprache." in r.stdout
