"""The staff status loop end to end: the real PTB Application against the loopback Bot API server,
with a clock the test controls.

invite (CLI) -> /start <code> links the chat -> a tick sends the prompt -> two taps answer it ->
the resident's card shows the status; silence on another measure -> reminder -> escalation digest
to the coordinator -> /report sends the HTML report and the chart.
"""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
import sqlalchemy as sa
from sqlmodel import Session, select

from bot.cli.wiring import open_core
from bot.models import Prompt, StaffInvite, StatusReport
from bot.settings import Settings
from tests.botapi import FakeBotApi, Upload
from tests.dates import CASES, DateCase
from tests.support.staff import cli, press, say, tick

ANNA, BERT, CORA, RESIDENT = 5101, 5102, 5103, 5999


@pytest.fixture(params=CASES, ids=str)
def case(request) -> DateCase:
    """Every date-sensitive test runs at each fixed date of ``tests/dates.py``."""
    return request.param


@pytest.fixture
def world(staff_world):
    """The production wiring against the loopback server (``tests.support.staff.world``)."""
    return staff_world


def test_invite_link_prompt_answer_remind_escalate_report(world, tmp_path, case):
    core, clock, desk, loop, api, settings = world
    de = core.translations.get("de").gettext
    env = {
        "ANKOMMEN_STATE_DIR": str(tmp_path),
        "TELEGRAM_BOT_USERNAME": "AnkommenTestBot",
        "ANKOMMEN_NOW": case.assigned.isoformat(),
    }

    # -- onboarding in three commands ------------------------------------------------------------
    out = cli(env, "staff", "add", "--name", "Anna Beispiel", "--org", "Sozial- und Wohnungsamt")
    assert out.returncode == 0, out.stderr
    anna_id = int(out.stdout.split("staff member ")[1].split(":")[0])
    assert cli(env, "staff", "assign", str(anna_id), "--measures", "4.14,4.3").returncode == 0
    # The CLI stamps the assignment with the real time; the story happens on the test's clock
    # (before, the test failed on any day after MONDAY: the assignment came after the prompt).
    with core.engine.begin() as conn:
        conn.execute(sa.text("UPDATE assignment SET created_at = :t"), {"t": clock.now})
    out = cli(env, "staff", "invite", str(anna_id))
    assert out.returncode == 0, out.stderr
    link = out.stdout.strip()
    assert link.startswith("https://t.me/AnkommenTestBot?start=s")
    code = link.split("start=", 1)[1]
    with Session(core.engine) as s:
        stored = s.exec(select(StaffInvite.code_hash)).all()
    assert code not in stored and len(stored) == 1  # only the hash is kept

    coordinator = core.staff_directory().add(
        "Cora Koordinatorin", "Integrationsbeauftragte", role="coordinator"
    )
    cora_code = core.staff_directory().invite(coordinator.id)

    # -- linking: the deep link's /start <code> -------------------------------------------------
    (welcome,) = say(api, ANNA, f"/start {code}")
    assert "Anna Beispiel" in welcome.text and "Sozial- und Wohnungsamt" in welcome.text
    staff_menu = [c["command"] for c in api.scoped_commands[(ANNA, "")]]
    assert staff_menu[-2:] == ["mymeasures", "away"] and "report" not in staff_menu
    (again,) = say(api, BERT, f"/start {code}")  # used: links nothing
    assert (BERT, "") not in api.scoped_commands
    assert again.text == de("This invitation has already been used. Please ask a coordinator for a new one.")
    say(api, CORA, f"/start {cora_code}")
    assert [c["command"] for c in api.scoped_commands[(CORA, "")]][-2:] == ["report", "newsletter"]

    # -- the prompt falls due at the first working-day slot after the assignment ----------------
    early = case.prompt - timedelta(minutes=1)
    clock.now = early
    result = tick(api, loop, early)
    assert result.prompts == 0  # before the first working-day slot nothing is sent
    clock.now = case.prompt
    result = tick(api, loop, case.prompt)
    assert result.prompts == 2 and result.in_window
    prompts = {p.text.split("\n")[0]: p for p in api.calls(chat_id=ANNA)[-2:]}
    prompt = next(p for head, p in prompts.items() if "4.14" in head)
    assert len(prompt.buttons) == 6  # the six statuses
    assert tick(api, loop, case.prompt + timedelta(minutes=1)).prompts == 0  # nothing twice

    # -- two taps: a status, then save -------------------------------------------------------------
    (confirm,) = press(api, prompt, "K:s:4.14:o")
    assert confirm.method == "editMessageText" and "K:y:4.14" in {d for _, d in confirm.buttons}
    (saved,) = press(api, prompt, "K:y:4.14")
    assert "4.14" in saved.text
    with Session(core.engine) as s:
        report = s.exec(select(StatusReport).where(StatusReport.measure_number == "4.14")).one()
        assert (report.status, report.staff_id) == ("on_track", anna_id)
        assert report.reported_at == case.prompt
        states = {p.measure_number: p.state for p in s.exec(select(Prompt)).all()}
    assert states == {"4.14": "answered", "4.3": "sent"}

    # The resident's answer card shows the new status at once.
    say(api, RESIDENT, "/start")
    lang_msg = api.calls(chat_id=RESIDENT)[-1]
    press(api, lang_msg, "L:de")
    (card,) = say(api, RESIDENT, "Wohnberatung bei Kündigung der Wohnung")
    assert de("in progress, on track") in card.text

    # -- silence on 4.3: a reminder after 7 days, an escalation after 14 -------------------------
    assert tick(api, loop, case.prompt + timedelta(days=6)).reminders == 0
    assert tick(api, loop, case.reminder - timedelta(minutes=1)).reminders == 0
    day7 = case.reminder
    result = tick(api, loop, day7)
    assert result.reminders == 1
    reminder = api.calls(chat_id=ANNA)[-1]
    assert de("Reminder: the status of measure {number} is still open.").format(number="4.3") in reminder.text
    assert tick(api, loop, day7 + timedelta(hours=1)).reminders == 0
    assert tick(api, loop, case.escalation - timedelta(minutes=1)).escalations == 0
    day14 = case.escalation
    result = tick(api, loop, day14)
    assert result.escalations == 1
    digest = api.calls(chat_id=CORA)[-1]
    assert "4.3" in digest.text and "Anna Beispiel" in digest.text
    assert tick(api, loop, day14 + timedelta(days=1)).escalations == 0

    # -- the report: CLI and /report ---------------------------------------------------------------
    html_path = tmp_path / "report.html"
    out = cli(env, "report", "--format", "html", "--out", str(html_path), "--now", day14.isoformat())
    assert out.returncode == 0, out.stderr
    page = html_path.read_text()
    assert "data:image/png;base64," in page
    assert "Anna Beispiel (Sozial- und Wohnungsamt)" in page
    assert 'class="overdue"' in page  # 4.3 is unanswered since 14 days

    before = len(api.calls(chat_id=CORA, methods=("sendDocument", "sendPhoto")))
    api.message(CORA, "/report")
    files = api.wait_for(before + 2, chat_id=CORA, methods=("sendDocument", "sendPhoto"))[before:]
    assert [f.method for f in files] == ["sendDocument", "sendPhoto"]
    document = files[0].params["document"]
    assert isinstance(document, Upload) and document.filename.endswith(".html")
    assert b"Umsetzungsbericht" in document.data
    assert files[1].params["photo"].data.startswith(b"\x89PNG")
    # Staff who are not coordinators get no report.
    (refused,) = say(api, ANNA, "/report")
    assert refused.text == de("Only coordinators can request the report.")


def test_reminders_tick_cli_sends_once_across_processes(tmp_path, case):
    """``ankommen reminders tick`` as a real process against the loopback server, on the clock
    that ``ankommen --now`` sets: the second run finds everything already sent (state lives in
    the store, not in memory)."""
    with FakeBotApi() as api:
        env = {
            "ANKOMMEN_STATE_DIR": str(tmp_path),
            "TELEGRAM_BOT_TOKEN": api.token,
            "TELEGRAM_API_BASE_URL": api.base_url,
            "ANKOMMEN_NOW": case.assigned.isoformat(),
        }
        settings = Settings.from_env(env)
        core = open_core(settings)
        directory = core.staff_directory()
        member = directory.add("Ben Muster", "Jugendamt")
        directory.assign(member.id, ["4.14"])
        code = directory.invite(member.id)
        assert directory.link(777, code)[0].value == "linked"
        core.engine.dispose()
        before = cli(env, "--now", (case.prompt - timedelta(minutes=1)).isoformat(), "reminders", "tick")
        assert before.returncode == 0, before.stderr
        assert json.loads(before.stdout)["prompts"] == 0
        first = cli(env, "--now", case.prompt.isoformat(), "reminders", "tick")
        assert first.returncode == 0, first.stderr
        assert json.loads(first.stdout)["prompts"] == 1
        second = cli(env, "reminders", "tick", "--now", (case.prompt + timedelta(minutes=1)).isoformat())
        assert json.loads(second.stdout)["prompts"] == 0
        assert len(api.calls(chat_id=777)) == 1
        assert api.token not in first.stderr + second.stderr


@pytest.mark.parametrize("case", CASES[:1], ids=str)  # not date-sensitive: one date is enough
def test_a_coordinator_linked_by_invite_can_compose_a_newsletter(world):
    """Issues 5 and 6 meet: the coordinator role comes from the staff directory and the invite."""
    core, _clock, _desk, _loop, api, _settings = world
    directory = core.staff_directory()
    cora = directory.add("Cora Koordinatorin", "Integrationsbeauftragte", role="coordinator")
    anna = directory.add("Anna Beispiel", "Sozial- und Wohnungsamt")
    say(api, CORA, f"/start {directory.invite(cora.id)}")
    say(api, ANNA, f"/start {directory.invite(anna.id)}")
    (picker,) = say(api, CORA, "/newsletter")
    assert {d for _, d in picker.buttons} >= {"W:n:1.24", "W:n:1.32"}
    (refused,) = say(api, ANNA, "/newsletter")  # staff, but not a coordinator
    assert not refused.buttons
