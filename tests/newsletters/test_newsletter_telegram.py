"""Newsletters end to end in Telegram: the real PTB Application long-polling the loopback Bot API.

A resident subscribes in two taps (Newsletters, then the newsletter) and leaves with one tap on
the issue's button; a coordinator composes, previews and confirms with ``/newsletter``, and the
JobQueue tick delivers; anyone else gets one short line and nothing changes.
"""

from __future__ import annotations

import pytest
from sqlmodel import Session, select

from bot.models import Delivery, NewsletterIssue, StaffMember, Subscription, utcnow
from handlers.app import assemble
from tests.helpers import wait_until
from tests.tgharness import PollingBot

RESIDENT, COORDINATOR, STRANGER = 3101, 3201, 3301


@pytest.fixture(scope="module")
def core_env(api) -> dict[str, str]:
    return {
        "TELEGRAM_BOT_TOKEN": api.token,
        "TELEGRAM_API_BASE_URL": api.base_url,
        "ANKOMMEN_RATE_LIMIT": "60",
    }


@pytest.fixture(scope="module")
def bot(core, api):
    with Session(core.engine) as s:
        s.add(
            StaffMember(
                name="K", organisation="Stadt", chat_id=COORDINATOR, role="coordinator", language="de"
            )
        )
        s.add(StaffMember(name="S", organisation="Stadt", chat_id=STRANGER, role="staff", language="de"))
        s.commit()
    # The production wiring (``assemble``), with a fast outbox tick.
    runner = PollingBot(core, api, app=assemble(core, core.settings, newsletter_tick=0.3))
    runner.start()
    yield runner
    runner.stop()


def _say(api, chat_id, text, n=1):
    return api.say(chat_id, text, n)


def _press(api, sent, data, n=1):
    before = len(api.calls(chat_id=sent.chat_id))
    toasts = len(api.calls(methods=("answerCallbackQuery",)))
    api.press(sent, data)
    got = api.wait_for(before + n, chat_id=sent.chat_id)[before:] if n else []
    toast = api.wait_for(toasts + 1, methods=("answerCallbackQuery",))[toasts]
    return got, toast.params.get("text", "")


def _subs(core, chat_id):
    with Session(core.engine) as s:
        return s.exec(select(Subscription).where(Subscription.chat_id == chat_id)).all()


def test_resident_subscribes_in_two_taps_and_a_coordinator_sends_an_issue(bot, api, core):
    (picker,) = _say(api, RESIDENT, "/start")
    ([menu], _) = _press(api, picker, "L:de")
    # tap 1: Newsletters
    ([screen], _) = _press(api, menu, "N")
    assert (
        "Newsletter für Frauen" in screen.text
        and ("➕ Newsletter für Seniorinnen und Senioren", "S:1.24") in screen.buttons
    )
    # tap 2: the newsletter
    ([screen], toast) = _press(api, screen, "S:1.24")
    assert "abonniert" in toast and ("✅ Newsletter für Seniorinnen und Senioren", "S:1.24") in screen.buttons
    assert [(s.newsletter, s.status, s.language) for s in _subs(core, RESIDENT)] == [("1.24", "active", "de")]

    # A staff member who is not a coordinator: one line, nothing changes.
    (refusal,) = _say(api, STRANGER, "/newsletter")
    assert "Nur Koordinator" in refusal.text and not refusal.buttons

    (choose,) = _say(api, COORDINATOR, "/newsletter")
    assert ("Newsletter für Seniorinnen und Senioren", "W:n:1.24") in choose.buttons
    ([ask], _) = _press(api, choose, "W:n:1.24")
    assert "# en" in ask.text
    (bad,) = _say(api, COORDINATOR, "# en\nonly English")  # refused; still composing
    assert "German text is required" in bad.text
    summary, preview, confirm = _say(
        api, COORDINATOR, "Hallo **alle**!\n# en\nHello **all**!\n# ar\nمرحبا\n# uk\nПривіт", n=3
    )
    assert "de, en, ar, uk" in summary.text and "<b>alle</b>" in preview.text
    assert "1 Abonnentin oder Abonnenten" in confirm.text
    issue_id = int(confirm.buttons[0][1].split(":")[2])
    with Session(core.engine) as s:
        assert s.get(NewsletterIssue, issue_id).state == "draft"
    assert (
        api.calls(chat_id=RESIDENT)[-1].params["_message_id"] == screen.params["_message_id"]
    )  # nothing sent yet

    ([started], _) = _press(api, confirm, f"W:s:{issue_id}")
    assert "wird gesendet" in started.text
    (pushed,) = api.wait_for(len(api.calls(chat_id=RESIDENT)) + 1, chat_id=RESIDENT, timeout=15)[-1:]
    assert "Hallo <b>alle</b>!" in pushed.text and pushed.buttons == [("Abbestellen", "U:1.24")]

    # leaving: one tap on the issue, and it says so
    (_none, toast) = _press(api, pushed, "U:1.24", n=0)
    assert "abbestellt" in toast
    assert _subs(core, RESIDENT) == []

    def states():
        with Session(core.engine) as s:
            return s.exec(select(Delivery.state).where(Delivery.issue_id == issue_id)).all()

    # The server records the message before its answer reaches the outbox, which then writes
    # "sent": wait for that write instead of racing it.
    assert wait_until(lambda: states() == ["sent"], timeout=15), states()
    # pressing again changes nothing and still says so
    (_none, toast) = _press(api, pushed, "U:1.24", n=0)
    assert "abbestellt" in toast
    assert sum(1 for s in api.calls(chat_id=RESIDENT) if "Hallo <b>alle</b>" in s.text) == 1


def _state(core, issue_id):
    with Session(core.engine) as s:
        return s.get(NewsletterIssue, issue_id).state


def test_a_coordinators_buttons_act_only_on_issues_the_bot_showed_them(bot, api, core):
    """Finding 11: forged ``W:s:<id>`` sent any draft (a CLI draft nobody previewed here), and
    ``W:x:<id>`` cancelled an issue being sent. Now a button acts only on the draft this
    coordinator previewed, or a held issue ``/newsletter`` listed to them."""
    from bot import paths
    from bot.newsletters.definitions import load_definitions
    from bot.newsletters.drafts import build_draft
    from bot.newsletters.issues import create_issue

    newsletters = load_definitions(paths.DATA_DIR)
    cli = create_issue(core.engine, build_draft("1.32", "Ein Entwurf von der Kommandozeile", newsletters))
    (choose,) = _say(api, COORDINATOR, "/newsletter")
    for data in (f"W:s:{cli}", f"W:x:{cli}"):
        (_none, toast) = _press(api, choose, data, n=0)
        assert "abgelaufen" in toast
    assert _state(core, cli) == "draft"

    # The previewed draft: "Send now", then "Discard" on the same message: the send goes on.
    _press(api, choose, "W:n:1.32")
    *_, confirm = _say(api, COORDINATOR, "Neuigkeiten für alle", n=3)
    issue_id = int(confirm.buttons[0][1].split(":")[2])
    ([started], _) = _press(api, confirm, f"W:s:{issue_id}")
    assert "wird gesendet" in started.text
    (_none, toast) = _press(api, confirm, f"W:x:{issue_id}", n=0)
    assert "abgelaufen" in toast and _state(core, issue_id) in ("sending", "sent")

    # A held issue listed by /newsletter can be sent from the list, by the coordinator it was shown to.
    with Session(core.engine) as s:
        held = s.get(NewsletterIssue, cli)
        held.state = "held"
        held.scheduled_at = utcnow()
        s.add(held)
        s.commit()
    _choose, listed = _say(api, COORDINATOR, "/newsletter", n=2)
    assert (listed.buttons[0][1]) == f"W:s:{cli}"
    ([started], _) = _press(api, listed, f"W:s:{cli}")
    assert "wird gesendet" in started.text and _state(core, cli) in ("sending", "sent")


def test_coordinator_buttons_are_refused_with_a_toast_elsewhere(bot, api, core):
    """A ``W:`` press from someone who is not a coordinator, or in a chat that is not theirs:
    a toast, no message, nothing changes."""
    (picker,) = _say(api, STRANGER, "/start")
    before = len(api.calls(chat_id=STRANGER))
    (_none, toast) = _press(api, picker, "W:n:1.24", n=0)
    assert "Nur Koordinator" in toast and len(api.calls(chat_id=STRANGER)) == before
