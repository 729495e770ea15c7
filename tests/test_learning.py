"""Learning from residents: unanswered questions (scrubbed, no user id) and votes, and the
operator commands ``ankommen gaps`` and ``ankommen feedback``."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from sqlmodel import Session, select

from bot.models import Gap
from bot.residents import StoreRecorder, scrub
from bot.services import open_core
from bot.settings import Settings
from tests.helpers import run_cli


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
