"""The transport-neutral dialogue: language choice, questions, browsing, details, help."""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime, timedelta

from sqlmodel import Session, select

from bot.chat.buttons import MAX_BYTES as CALLBACK_MAX_BYTES
from bot.content.catalog import Catalog
from bot.languages import FSI, PDI
from bot.models import StatusReport
from bot.residents.dialogue import Dialogue
from bot.residents.ports import MemoryPreferences
from tests.support.inputs import assert_valid_html

USER = 42


def datas(reply) -> list[str]:
    return [b.data for row in reply.buttons for b in row]


def labels(reply) -> list[str]:
    return [b.label for row in reply.buttons for b in row]


def press(dialogue, reply, data_prefix: str):
    data = next(d for d in datas(reply) if d.startswith(data_prefix))
    return dialogue.handle_button(USER, data)


def test_start_offers_the_picker_with_the_suggested_language_marked(dialogue):
    [reply] = dialogue.start(USER, suggested="en-GB")
    assert reply.lang == "en"
    assert datas(reply)[:2] == ["L:de", "L:en"]  # one order on every screen
    assert [b.label for row in reply.buttons for b in row][1].startswith("✓ ")  # the suggestion, marked
    assert "Please choose your language." in reply.html
    assert set(datas(reply)) >= {"L:de", "L:en"}
    assert "✓ English" in labels(reply) and "Deutsch" in labels(reply)


def test_unknown_suggestion_falls_back_to_the_default(dialogue):
    [reply] = dialogue.start(USER, suggested="zz")
    assert reply.lang == "de"
    assert "Bitte wählen Sie Ihre Sprache." in reply.html


def test_choosing_a_language_shows_the_menu_in_it(dialogue):
    [reply] = dialogue.handle_button(USER, "L:en")
    assert dialogue.language_of(USER) == "en"
    assert "What would you like to do?" in reply.html
    assert {"A", "T", "L:", "H"} <= set(datas(reply))


def test_question_gives_an_answer_card_with_body_status_and_buttons(dialogue):
    dialogue.handle_button(USER, "L:de")
    replies = dialogue.handle_text(USER, "Wo bekomme ich Hilfe, mein Vermieter hat mir gekündigt?")
    card = replies[0]
    assert "4.14" in card.html
    assert "Migrationsberatungsstellen" in card.html  # the responsible body
    assert "Status: noch kein Bericht." in card.html
    assert "maschinell" in card.html  # machine-made marker
    assert "g:4.14" in datas(card)
    assert_valid_html(card.html)
    # The official German text, verbatim.
    [official] = dialogue.handle_button(USER, "g:4.14")
    assert "Diverse Beratungsangebote zum Thema Wohnen" in official.html
    assert "LH Magdeburg; Migrationsberatungsstellen u. a." in official.html
    # A broader question has several answers: "more results" pages through them.
    first = dialogue.handle_text(USER, "Ich suche eine Wohnung")[0]
    assert "R:1" in datas(first)
    [more] = dialogue.handle_button(USER, "R:1")
    assert "Antwort 2 von" in more.html


def test_no_contact_details_means_naming_the_body(dialogue):
    dialogue.handle_button(USER, "L:en")
    [card] = dialogue.handle_button(USER, "o:housing-counselling")
    assert "The concept publishes no contact details" in card.html
    assert not re.search(r"\d{4,}|@|https?://", html.unescape(card.html))


def test_no_match_is_honest_and_names_general_counselling(dialogue):
    dialogue.handle_button(USER, "L:en")
    [reply] = dialogue.handle_text(USER, "what is the weather tomorrow")
    assert "found no measure or offer" in reply.html
    # General counselling only: housing counselling is no answer to a question about the weather.
    assert "o:social-counselling" in set(datas(reply)) and "o:housing-counselling" not in set(datas(reply))
    assert "JMD/MBE" in reply.html
    assert "Tips:" in reply.html


def test_browse_field_measure_offer(dialogue):
    dialogue.handle_button(USER, "L:en")
    [topics] = dialogue.handle_text(USER, "/topics")
    assert [d for d in datas(topics) if d.startswith("F:")] == [f"F:{n}" for n in range(1, 8)]
    [field4] = press(dialogue, topics, "F:4")
    assert "Page 1 of 2" in field4.html
    [field4p2] = press(dialogue, field4, "F:4:1")
    assert "Page 2 of 2" in field4p2.html and "m:4.44" in datas(field4p2)
    [measure] = dialogue.handle_button(USER, "m:4.44")
    assert "Blickwechsel e. V." in measure.html
    [offer] = press(dialogue, measure, "o:")
    assert "Offer for measure 4.44" in offer.html


def test_lead_body_is_marked(dialogue):
    dialogue.handle_button(USER, "L:de")
    [measure] = dialogue.handle_button(USER, "m:1.19")
    assert "Beirat für Integration und Migration (federführend)" in measure.html


def test_forged_and_stale_buttons_expire_and_change_nothing(dialogue):
    dialogue.handle_button(USER, "L:en")
    for data in ["m:9.99", "F:99", "F:4:7", "R:5", "L:xx", "zz", "", "o:../../etc", "F:x:y", "R:-1"]:
        [reply] = dialogue.handle_button(USER, data)
        assert "This button has expired" in reply.html, data
    assert dialogue.language_of(USER) == "en"


def test_every_button_fits_telegram(dialogue, catalog):
    dialogue.handle_button(USER, "L:de")
    screens = [*dialogue.start(USER), dialogue.topics("de")]
    screens += [dialogue.field_page("de", n, 0) for n in catalog.fields]
    screens += [dialogue.measure_card("de", m) for m in catalog.measures.values()]
    screens += [dialogue.offer_card("de", o) for o in catalog.offers.values()]
    for reply in screens:
        assert len(reply.html) < 4096
        assert_valid_html(reply.html)
        for data in datas(reply):
            assert len(data.encode()) <= CALLBACK_MAX_BYTES
            [follow] = dialogue.handle_button(USER, data) if not data.startswith("R:") else [reply]
            assert "expired" not in follow.html.lower() or data.startswith("R:"), data


def test_question_in_another_language_offers_to_switch(dialogue):
    dialogue.handle_button(USER, "L:de")
    replies = dialogue.handle_text(USER, "my landlord wants to throw us out")
    assert "4.14" in replies[0].html
    assert replies[-1].buttons[0][0].data == "L:en"
    assert "Do you want to switch to English?" in replies[-1].html


def test_help_and_unknown_command(dialogue):
    dialogue.handle_button(USER, "L:en")
    [help_] = dialogue.handle_text(USER, "/help")
    assert "How Ankommen works" in help_.html
    [unknown] = dialogue.handle_text(USER, "/frobnicate")
    assert "I do not know this command" in unknown.html


def test_status_is_shown_with_a_locale_date_and_staleness(core_engine, translations):
    with Session(core_engine) as s:
        s.add(
            StatusReport(
                measure_number="4.44", status="on_track", reported_at=datetime(2026, 10, 12, 10, tzinfo=UTC)
            )
        )
        s.add(
            StatusReport(
                measure_number="1.19",
                status="implemented",
                reported_at=datetime.now(UTC) - timedelta(days=400),
            )
        )
        s.commit()
    try:
        d = Dialogue(Catalog.load(core_engine), translations, MemoryPreferences(), default_language="de")
        de = d.measure_card("de", d.catalog.measures["4.44"]).html
        assert "12. Oktober 2026" in de and "läuft nach Plan" in de
        en = d.measure_card("en", d.catalog.measures["4.44"]).html
        assert "October 12, 2026" in en
        old = d.measure_card("en", d.catalog.measures["1.19"]).html
        assert "Not confirmed for more than six months." in old
    finally:
        with Session(core_engine) as s:
            for r in s.exec(select(StatusReport)).all():
                s.delete(r)
            s.commit()


def test_escaping_of_inserted_values(dialogue):
    dialogue.handle_button(USER, "L:en")
    replies = dialogue.handle_text(USER, "<b>Vermieter</b> & <script>")
    for reply in replies:
        assert_valid_html(reply.html)
        assert "<script>" not in reply.html


def test_rtl_reply_isolates_measure_numbers(catalog, translations):
    # Arabic has no content yet in this issue: the card falls back to English text, but the
    # measure number is still isolated for right-to-left display.
    d = Dialogue(catalog, translations, MemoryPreferences(), default_language="de")
    card = d.measure_card("ar", catalog.measures["4.14"])
    assert f"{FSI}4.14{PDI}" in card.html


def test_oversized_and_control_input_gets_a_short_valid_answer(dialogue):
    dialogue.handle_button(USER, "L:de")
    for text in [
        "Wohnung " * 2000,
        "\x00\x07\u202e\u200b" * 500,
        "🙂" * 4096,
        " ",
        "/",
        "/start@SomeOtherBot",
    ]:
        replies = dialogue.handle_text(USER, text)
        assert replies
        for reply in replies:
            assert len(reply.html) < 4096
            assert_valid_html(reply.html)
    assert dialogue.language_of(USER) == "de"


def test_field_goals_in_the_users_language(dialogue):
    dialogue.handle_button(USER, "L:uk")
    [page] = dialogue.handle_button(USER, "F:2")
    assert "G:2" in [b.data for row in page.buttons for b in row]
    [goals] = dialogue.handle_button(USER, "G:2")
    assert goals.html.count("• ") == len(dialogue.catalog.fields[2].goals)
    assert any("\u0400" <= ch <= "\u04ff" for ch in goals.html)
    [expired] = dialogue.handle_button(USER, "G:9")
    assert expired.toast
