"""End to end: the real PTB Application and Updater, long-polling our Bot API server on loopback.

Every exchange crosses a real socket in the Bot API's JSON; the server checks what Telegram checks
(HTML entities, 4096 characters, 64-byte callback data). Conversations run in German, Arabic and
Ukrainian.
"""

from __future__ import annotations

import re
import time

import pytest
import sqlalchemy as sa
from sqlmodel import Session, select

from bot.cli.wiring import open_core
from bot.content.catalog import pick_text
from bot.languages import FSI, SUPPORTED_LANGUAGES, native_name
from bot.models import Gap, Resident, Vote
from bot.settings import Settings
from tests.botapi import FakeBotApi
from tests.tgharness import PollingBot

ARABIC = re.compile(r"[\u0600-\u06ff]")
CYRILLIC = re.compile(r"[\u0400-\u04ff]")


@pytest.fixture(scope="module")
def bot(core, api):
    runner = PollingBot(core, api, rate_limit_per_minute=20, alert_chat_id=-100777).start()
    yield runner
    runner.stop()


def _buttons(sent) -> dict[str, str]:
    return {data: label for label, data in sent.buttons}


def _say(api, chat_id, text, n=1, **kw):
    return api.say(chat_id, text, n, **kw)


def _press(api, sent, data, n=1, methods=None):
    methods = methods or ("sendMessage", "editMessageText")
    chat = None if methods == ("answerCallbackQuery",) else sent.chat_id  # answers name no chat
    before = len(api.calls(chat_id=chat, methods=methods))
    api.press(sent, data)
    return api.wait_for(before + n, chat_id=chat, methods=methods)[before:]


def _toasts(api):
    return api.calls(methods=("answerCallbackQuery",))


def test_command_menu_is_set_in_every_language(bot, api):
    langs = bot.frontend.dialogue.languages
    assert langs == list(SUPPORTED_LANGUAGES)
    api.wait_for(len(langs) + 1, methods=("setMyCommands",))
    assert set(api.commands) == {""} | set(langs)
    for lang in langs:
        names = [c["command"] for c in api.commands[lang]]
        assert names == ["start", "topics", "language", "newsletters", "privacy", "delete", "help"]
    assert api.commands["de"][0]["description"] != api.commands["en"][0]["description"]


def test_german_conversation(bot, api, core):
    chat = 1001
    (picker,) = _say(api, chat, "/start", language_code="de")
    assert list(_buttons(picker))[0] == "L:de"
    (menu,) = _press(api, picker, "L:de")
    assert menu.method == "editMessageText" and "Was möchten Sie tun?" in menu.text
    assert {"A", "T", "N", "L:", "P", "H"} <= set(_buttons(menu))

    (card,) = _say(api, chat, "Mein Vermieter will uns aus der Wohnung rauswerfen, was tun?")
    assert "4.14" in card.text and "Wohnberatung" in card.text
    assert "Keine Kontaktdaten" in card.text or "keine Kontaktdaten" in card.text
    buttons = _buttons(card)
    assert {"g:4.14", "V:u:o:housing-counselling", "V:d:o:housing-counselling"} <= set(buttons)
    assert "R:1" in buttons

    (official,) = _press(api, card, "g:4.14")
    assert official.method == "editMessageText"
    assert core.catalog.measures["4.14"].text_de[:40] in official.text

    toasts = len(_toasts(api))
    _press(api, card, "V:u:o:housing-counselling", methods=("answerCallbackQuery",))
    _press(api, card, "V:u:o:housing-counselling", methods=("answerCallbackQuery",))  # counted once
    assert "Danke" in _toasts(api)[toasts].params.get("text", "")
    with Session(core.engine) as s:
        votes = s.exec(select(Vote).where(Vote.key == "housing-counselling")).all()
    assert len(votes) == 1 and votes[0].up

    (topics,) = _say(api, chat, "/topics")
    assert "F:4" in _buttons(topics) and "O" in _buttons(topics)
    (field,) = _press(api, topics, "F:4")
    assert "m:4.14" in _buttons(field) or "F:4:1" in _buttons(field)
    (offers,) = _press(api, field, "T")
    (all_offers,) = _press(api, offers, "O")
    assert any(d.startswith("o:") for d in _buttons(all_offers))


def test_no_match_is_honest_and_stored_without_user_id(bot, api, core):
    chat = 1002
    (reply,) = _say(api, chat, "Wie wird das Wetter morgen? Ruf mich an: +49 391 1234567, a@b.de")
    assert "Sozialberatung" in reply.text or "7.2" in reply.text
    assert "o:social-counselling" in set(_buttons(reply))  # general counselling, not housing
    with Session(core.engine) as s:
        gaps = s.exec(select(Gap)).all()
    stored = [g.text for g in gaps if "Wetter" in g.text]
    assert stored and "1234567" not in stored[-1] and "a@b.de" not in stored[-1]
    columns = {c.name for c in Gap.__table__.columns}
    assert not columns & {"chat_id", "user_id"}


def test_arabic_conversation(bot, api, core):
    chat = 1003
    (picker,) = _say(api, chat, "/start", language_code="ar")
    assert "✓ " + native_name("ar") in [label for label, _ in picker.buttons]  # suggested, marked
    (menu,) = _press(api, picker, "L:ar")
    assert ARABIC.search(menu.text), menu.text
    (card,) = _say(api, chat, "عندي مشكلة مع الـ Vermieter بدو يطلعني من الشقة")
    offer = core.catalog.offers["housing-counselling"]
    title = pick_text(offer.texts, "ar").title
    assert title.replace(FSI, "")[:10] in card.text.replace(FSI, "").replace("\u2069", "")
    # Measure numbers and Latin names are isolated inside right-to-left text.
    assert f"{FSI}4.14\u2069" in card.text
    assert ARABIC.search(card.text)
    with Session(core.engine) as s:
        assert s.get(Resident, chat).language == "ar"


def test_ukrainian_conversation(bot, api, core):
    chat = 1004
    (picker,) = _say(api, chat, "/start", language_code="uk")
    assert "✓ Українська" in [label for label, _ in picker.buttons]
    (menu,) = _press(api, picker, "L:uk")
    assert CYRILLIC.search(menu.text), menu.text
    (card,) = _say(api, chat, "Де знайти Sprachkurs, хочу вчити німецьку мову")
    assert CYRILLIC.search(card.text)
    measures = {m for m in re.findall(r"\b\d\.\d{1,2}\b", card.text)}
    assert measures & {"2.1", "2.2", "2.3", "2.4", "2.5", "2.6", "2.7", "2.8", "2.9", "2.10"}, card.text
    (privacy,) = _say(api, chat, "/privacy")
    assert CYRILLIC.search(privacy.text) and "D:" in _buttons(privacy)


def test_delete_erases_the_resident_after_confirmation(bot, api, core):
    chat = 1005
    (picker,) = _say(api, chat, "/start", language_code="en")
    _press(api, picker, "L:en")
    with Session(core.engine) as s:
        assert s.get(Resident, chat) is not None
    (confirm,) = _say(api, chat, "/delete")
    assert {"D:yes", "D:no"} == set(_buttons(confirm))
    (kept,) = _press(api, confirm, "D:no")
    with Session(core.engine) as s:
        assert s.get(Resident, chat) is not None
    (confirm,) = _say(api, chat, "/delete")
    (done,) = _press(api, confirm, "D:yes")
    assert "deleted" in done.text
    with Session(core.engine) as s:
        assert s.get(Resident, chat) is None


def test_forged_and_stale_buttons_change_nothing(bot, api, core):
    chat = 1006
    (picker,) = _say(api, chat, "/start", language_code="de")
    before_msgs = len(api.calls(chat_id=chat))
    for data in ("m:9.99", "X", "F:99", "R:5", "V:u:m:0.0", "D:maybe", "L:xx", "O:999", "g:", "💥" * 16):
        _press(api, picker, data, methods=("answerCallbackQuery",))
    toasts = [s for s in _toasts(api)[-10:]]
    assert all("abgelaufen" in t.params.get("text", "") for t in toasts)
    assert len(api.calls(chat_id=chat)) == before_msgs  # no message sent or edited
    with Session(core.engine) as s:
        assert s.get(Resident, chat) is None  # nothing stored


def test_groups_get_answers_only_to_commands_addressed_to_the_bot(bot, api):
    group = -5001
    api.message(group, "Hallo zusammen, wo gibt es Sprachkurse?", chat_type="supergroup", user_id=77)
    api.message(group, "/help", chat_type="supergroup", user_id=77)
    api.message(group, "/help@SomeOtherBot", chat_type="supergroup", user_id=77)
    api.message(group, f"/help@{api.username}", chat_type="supergroup", user_id=77)
    (reply,) = api.wait_for(1, chat_id=group)
    assert "/topics" in reply.text
    api.message(group, f"/topics@{api.username}", chat_type="supergroup", user_id=77)
    assert len(api.wait_for(2, chat_id=group)) == 2


def test_other_message_types_get_a_one_line_hint(bot, api):
    chat = 1007
    kinds = [
        {
            "sticker": {
                "file_id": "s",
                "file_unique_id": "s",
                "type": "regular",
                "width": 1,
                "height": 1,
                "is_animated": False,
                "is_video": False,
            }
        },
        {"photo": [{"file_id": "p", "file_unique_id": "p", "width": 1, "height": 1}]},
        {"voice": {"file_id": "v", "file_unique_id": "v", "duration": 1}},
        {"location": {"latitude": 52.13, "longitude": 11.62}},
    ]
    for extra in kinds:
        api.message(chat, None, extra=extra)
    api.message(chat, "bearbeitet", edited=True)
    replies = api.wait_for(5, chat_id=chat)
    assert all("\n" not in r.text and r.text for r in replies)
    assert sum("Text" in r.text for r in replies) == 4 and "Bearbeitete" in replies[-1].text


def test_rate_limit_answers_once_then_ignores(core, tmp_path):
    with FakeBotApi() as api:
        runner = PollingBot(core, api, rate_limit_per_minute=5).start()
        try:
            chat = 2001
            for i in range(12):
                api.message(chat, f"Sprachkurs {i}")
            api.wait_for(6, chat_id=chat)
            time.sleep(1.0)
            replies = api.calls(chat_id=chat)
            notices = [r for r in replies if "sehr schnell" in r.text]
            assert len(notices) == 1 and len(replies) == 6
        finally:
            runner.stop()


def test_oversized_text_is_cut_and_answered(bot, api):
    chat = 1008
    replies = _say(api, chat, "Wohnung " * 600, n=2)
    assert "1.000" in replies[0].text  # the limit, formatted for the German locale
    assert all(len(r.text) <= 4096 for r in replies)


def test_internal_error_gets_an_apology_and_alerts_the_coordinators(tmp_path):
    settings = Settings.from_env({"ANKOMMEN_STATE_DIR": str(tmp_path)})
    broken = open_core(settings)
    api = FakeBotApi().start()
    runner = PollingBot(broken, api, alert_chat_id=-100777).start()
    try:
        with broken.engine.begin() as conn:
            conn.execute(sa.text("DROP TABLE subscription"))
            conn.execute(sa.text("DROP TABLE resident"))
        chat = 3001
        api.message(chat, "Sprachkurs", language_code="uk")
        (apology,) = api.wait_for(1, chat_id=chat)
        assert CYRILLIC.search(apology.text)
        (alert,) = api.wait_for(1, chat_id=-100777)
        assert "OperationalError" in alert.text and "Sprachkurs" not in alert.text
    finally:
        runner.stop()
        api.stop()
        broken.engine.dispose()
