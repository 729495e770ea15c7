"""Staff onboarding and erasure, hardened: the real PTB Application (production wiring) against the
loopback Bot API server, with the CLI as a real process where the operator acts."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from tests.dates import CASES
from tests.support.staff import cli, press, say


@pytest.fixture
def world(staff_world):
    """The production wiring against the loopback server (``tests.support.staff.world``)."""
    return staff_world


@pytest.fixture
def case():
    return CASES[0]  # these tests are not date-sensitive: one fixed date is enough


RESIDENT, ANNA, MALLORY = 6101, 6102, 6103
INVALID = "This invitation code is not valid. Please check the link or ask a coordinator for a new one."


def _throttle_count(core) -> int:
    with core.engine.connect() as conn:
        return conn.execute(sa.text("SELECT count(*) FROM throttle_event")).scalar_one()


# -- finding 12: a poster's deep link is a resident's /start -------------------------------------------
def test_a_deep_link_payload_that_is_no_invitation_gets_the_language_picker_and_is_not_counted(world):
    core, _clock, _desk, _loop, api, _settings = world
    de = core.translations.get("de").gettext
    for payload in ("plakat_wohnen", "sprachcafe_2026", "s" * 30, "sprechstunde-am-dienstag-1"):
        (reply,) = say(api, RESIDENT, f"/start {payload}")
        assert "L:de" in {d for _, d in reply.buttons}, reply.text  # the language picker
        assert de("Please choose your language.") in reply.text
    for _ in range(6):  # more than the 5 wrong codes an hour: still never refused
        (reply,) = say(api, RESIDENT, "/start sprachcafe")
    assert "L:de" in {d for _, d in reply.buttons}
    assert _throttle_count(core) == 0
    # A code-shaped payload is still an invitation code: wrong, so counted.
    (wrong,) = say(api, RESIDENT, "/start s" + "0" * 24)
    assert wrong.text == de(INVALID)
    assert _throttle_count(core) == 1


def test_a_posters_qr_link_opens_its_card_through_telegram_and_never_counts(world, tmp_path):
    """``ankommen link`` prints the link; its payload, sent as Telegram sends a deep link, opens the
    measure's card in the poster's language, and a dozen of them count nothing."""
    core, _clock, _desk, _loop, api, _settings = world
    out = cli(_staff_env(tmp_path), "link", "measure", "4.14", "--lang", "ar", "--out", str(tmp_path / "qr"))
    assert out.returncode == 0, out.stderr
    link = out.stdout.strip()
    assert link == "https://t.me/AnkommenTestBot?start=m_4-14_ar"
    png, svg = tmp_path / "qr" / "m_4-14_ar.png", tmp_path / "qr" / "m_4-14_ar.svg"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and b"<svg" in svg.read_bytes()
    before = _throttle_count(core)
    for _ in range(12):
        (card,) = say(api, RESIDENT + 50, "/start " + link.split("start=", 1)[1])
    assert "4.14" in card.text and any("\u0600" <= ch <= "\u06ff" for ch in card.text)
    assert "g:4.14" in {d for _, d in card.buttons}
    assert _throttle_count(core) == before
    refused = cli(_staff_env(tmp_path), "link", "measure", "9.99")
    assert refused.returncode == 2 and "no measure" in refused.stderr


def _staff_env(tmp_path, api=None) -> dict:
    env = {"ANKOMMEN_STATE_DIR": str(tmp_path), "TELEGRAM_BOT_USERNAME": "AnkommenTestBot"}
    if api is not None:
        env.update(TELEGRAM_BOT_TOKEN=api.token, TELEGRAM_API_BASE_URL=api.base_url, TELEGRAM_FLOOD_LIMIT="0")
    return env


# -- finding 5: a superseded invitation cannot take the identity over ---------------------------------
def test_linking_voids_the_other_codes_a_relink_tells_the_old_chat_and_revoke_voids_the_rest(world, tmp_path):
    core, _clock, _desk, _loop, api, _settings = world
    de = core.translations.get("de").gettext
    directory = core.staff_directory()
    anna = directory.add("Anna Beispiel", "Sozial- und Wohnungsamt")
    env = _staff_env(tmp_path)
    first, second = (
        cli(env, "staff", "invite", str(anna.id)).stdout.split("start=")[1].strip() for _ in "12"
    )
    say(api, ANNA, f"/start {second}")
    assert directory.by_chat(ANNA).id == anna.id and (ANNA, "") in api.scoped_commands

    # The first link was superseded when the second one was used: it links nothing now.
    told = len(api.calls(chat_id=ANNA))
    (refused,) = say(api, MALLORY, f"/start {first}")
    assert refused.text == de(INVALID)
    assert directory.by_chat(MALLORY) is None and directory.by_chat(ANNA).id == anna.id
    assert (MALLORY, "") not in api.scoped_commands and len(api.calls(chat_id=ANNA)) == told

    # A new link moves the person to another chat, and the old chat is told and loses the menu.
    third = directory.invite(anna.id)
    before = len(api.calls(chat_id=ANNA))
    say(api, MALLORY, f"/start {third}")
    (notice,) = api.wait_for(before + 1, chat_id=ANNA)[before:]
    assert notice.text == de(
        "Your staff access to Ankommen has just been linked to another Telegram chat with an invitation "
        "link. This chat no longer gets status requests. If that was not you, please tell a coordinator "
        "at once."
    )
    assert directory.by_chat(MALLORY).id == anna.id and directory.by_chat(ANNA) is None
    assert (ANNA, "") not in api.scoped_commands and (MALLORY, "") in api.scoped_commands

    # --revoke voids every open link of the person.
    fourth, fifth = directory.invite(anna.id), directory.invite(anna.id)
    out = cli(env, "staff", "invite", "--revoke", str(anna.id))
    assert out.returncode == 0, out.stderr
    assert "2 open invitation link(s) revoked" in out.stdout
    for code in (fourth, fifth):
        (refused,) = say(api, ANNA, f"/start {code}")
        assert refused.text == de(INVALID)
    assert directory.by_chat(MALLORY).id == anna.id


# -- finding 10: staff remove takes the staff command menu out of Telegram -------------------------------
def test_staff_remove_deletes_the_staff_command_menu_at_once_or_at_the_next_start(world, tmp_path):
    core, _clock, _desk, _loop, api, settings = world
    directory = core.staff_directory()
    anna = directory.add("Anna Beispiel", "Sozial- und Wohnungsamt")
    bert = directory.add("Bert Beispiel", "Jugendamt")
    say(api, ANNA, f"/start {directory.invite(anna.id)}")
    say(api, MALLORY, f"/start {directory.invite(bert.id)}")
    assert (ANNA, "") in api.scoped_commands and (MALLORY, "") in api.scoped_commands

    # With the token: at once.
    out = cli(_staff_env(tmp_path, api), "staff", "remove", str(anna.id))
    assert out.returncode == 0, out.stderr
    assert "is removed (deleteMyCommands)" in out.stdout
    assert (ANNA, "") not in api.scoped_commands
    deleted = [c for c in api.sent if c.method == "deleteMyCommands"]
    assert [int(c.params["scope"]["chat_id"]) for c in deleted] == [ANNA]
    assert directory.menu_resets() == []

    # Without a token: queued in the store, done when the bot next starts.
    out = cli(_staff_env(tmp_path), "staff", "remove", str(bert.id))
    assert out.returncode == 0, out.stderr
    assert "no TELEGRAM_BOT_TOKEN here" in out.stdout
    assert (MALLORY, "") in api.scoped_commands and directory.menu_resets() == [MALLORY]
    _start_once(core, settings)
    assert (MALLORY, "") not in api.scoped_commands and directory.menu_resets() == []


def _start_once(core, settings) -> None:
    """What a (re)started bot does before it polls: initialize and post_init (the command menus)."""
    import asyncio

    from handlers.app import assemble

    async def run():
        app = assemble(core, settings, desk=core.staff_desk(), status_tick=3600)
        await app.initialize()
        await app.post_init(app)
        await app.shutdown()

    asyncio.run(run())


# -- finding 13: a staff member's /delete erases the staff link, and says exactly what ---------------------
STAFF_CONFIRM = (
    "You are linked as staff. Deleting also unlinks this chat from your staff entry and drops a status "
    "answer or newsletter issue you have started. The status reports you have made stay, because the "
    "implementation report (measure 7.16) needs them. Your name, organisation and measures stay with the "
    "coordinators; ask them if you want those erased."
)
STAFF_DONE = (
    "Done: I have deleted your language, your newsletter subscriptions, the link between this chat and your "
    "staff entry, and any status answer or newsletter issue you had started. The status reports you have "
    "made stay in the implementation report (measure 7.16). Your name, organisation and measures stay with "
    "the coordinators; ask them if you want those erased. A new invitation link connects you again."
)


def _rows(core, sql: str) -> list:
    with core.engine.connect() as conn:
        return [tuple(r) for r in conn.execute(sa.text(sql)).all()]


def test_a_coordinators_delete_erases_the_chat_link_drafts_and_composing_and_keeps_the_reports(world):
    core, _clock, _desk, _loop, api, _settings = world
    de = core.translations.get("de").gettext
    directory = core.staff_directory()
    cora = directory.add("Cora Koordinatorin", "Integrationsbeauftragte", role="coordinator")
    say(api, ANNA, f"/start {directory.invite(cora.id)}")
    (picker,) = say(api, ANNA, "/start")
    press(api, picker, "L:de")  # she is a resident too: a language row
    (listing,) = say(api, ANNA, "/mymeasures")
    (prompt,) = press(api, listing, "K:r:4.14")
    press(api, prompt, "K:s:4.14:o")
    press(api, prompt, "K:y:4.14")  # a status report
    (listing,) = say(api, ANNA, "/mymeasures")
    (prompt,) = press(api, listing, "K:r:4.3")
    press(api, prompt, "K:s:4.3:d")  # an answer in progress
    (choice,) = say(api, ANNA, "/newsletter")
    press(api, choice, "W:n:1.24")  # composing
    assert _rows(core, "SELECT count(*) FROM newsletter_compose") == [(1,)]
    assert _rows(core, "SELECT count(*) FROM status_draft") == [(1,)]

    (confirm,) = say(api, ANNA, "/delete")
    assert de(STAFF_CONFIRM) in confirm.text
    (done,) = press(api, confirm, "D:yes")
    assert done.text == de(STAFF_DONE)
    assert _rows(core, f"SELECT chat_id FROM staff_member WHERE id = {cora.id}") == [(None,)]
    assert _rows(core, "SELECT count(*) FROM newsletter_compose") == [(0,)]
    assert _rows(core, "SELECT count(*) FROM status_draft") == [(0,)]
    assert _rows(core, "SELECT count(*) FROM resident") == [(0,)]
    assert _rows(core, "SELECT measure_number, staff_id FROM status_report") == [("4.14", cora.id)]
    assert (ANNA, "") not in api.scoped_commands and directory.menu_resets() == []
    # The chat is no staff chat any more.
    (refused,) = say(api, ANNA, "/mymeasures")
    assert refused.text == de("This command is for staff members who have been invited.")

    # A resident's /delete says what it always said.
    (confirm,) = say(api, RESIDENT, "/delete")
    assert de(STAFF_CONFIRM) not in confirm.text
    (done,) = press(api, confirm, "D:yes")
    assert done.text == de(
        "Done: I have deleted everything I stored about you. If you write to me again, I start afresh."
    )


def test_staff_remove_erases_a_newsletter_being_composed(world, tmp_path):
    core, _clock, _desk, _loop, api, _settings = world
    directory = core.staff_directory()
    cora = directory.add("Cora Koordinatorin", "Integrationsbeauftragte", role="coordinator")
    say(api, ANNA, f"/start {directory.invite(cora.id)}")
    (choice,) = say(api, ANNA, "/newsletter")
    press(api, choice, "W:n:1.32")
    assert _rows(core, "SELECT chat_id FROM newsletter_compose") == [(ANNA,)]
    assert cli(_staff_env(tmp_path), "staff", "remove", str(cora.id)).returncode == 0
    assert _rows(core, "SELECT count(*) FROM newsletter_compose") == [(0,)]


# -- finding 25: a second tap on Save says it is saved and offers the correction ----------------------------
def test_a_second_tap_on_save_says_already_saved_and_offers_the_correction(world):
    core, _clock, _desk, _loop, api, _settings = world
    de = core.translations.get("de").gettext
    directory = core.staff_directory()
    anna = directory.add("Anna Beispiel", "Sozial- und Wohnungsamt")
    directory.assign(anna.id, ["4.14"])
    say(api, ANNA, f"/start {directory.invite(anna.id)}")
    (listing,) = say(api, ANNA, "/mymeasures")
    (prompt,) = press(api, listing, "K:r:4.14")
    press(api, prompt, "K:s:4.14:o")
    press(api, prompt, "K:y:4.14")
    (again,) = press(api, prompt, "K:y:4.14")  # the same Save button, tapped once more
    assert de("This answer has already been saved.") in again.text
    assert de("You cannot report on this measure.") not in again.text
    report_id = _rows(core, "SELECT id FROM status_report")[0][0]
    assert f"K:c:{report_id}" in {d for _, d in again.buttons}
    assert len(_rows(core, "SELECT id FROM status_report")) == 1  # saved once
    (correction,) = press(api, again, f"K:c:{report_id}")
    assert "4.14" in correction.text and len(correction.buttons) == 6
    # Someone else's Save for a measure they do not hold is still refused.
    other = directory.add("Bert Beispiel", "Jugendamt")
    say(api, MALLORY, f"/start {directory.invite(other.id)}")
    (listing,) = say(api, MALLORY, "/mymeasures")
    before = len(api.calls(methods=("answerCallbackQuery",)))
    api.press(listing, "K:y:4.14")
    toast = api.wait_for(before + 1, methods=("answerCallbackQuery",))[before]
    assert toast.params.get("text") == de("You cannot report on this measure.")


# -- finding 26: the link greeting builds no sentence around the office's name -----------------------------
def test_the_link_greeting_names_the_person_and_the_office_on_labelled_lines(world):
    core, _clock, _desk, _loop, api, _settings = world
    directory = core.staff_directory()
    for lang, chat in (("de", ANNA), ("ru", MALLORY)):
        t = core.translations.get(lang).gettext
        member = directory.add("Anna Beispiel", "Sozial- und Wohnungsamt", language=lang)
        (welcome,) = say(api, chat, f"/start {directory.invite(member.id)}")
        lines = welcome.text.split("\n")
        assert t("Name: {name}").format(name="Anna Beispiel") in lines
        assert t("Organisation: {organisation}").format(organisation="Sozial- und Wohnungsamt") in lines
        assert "von Sozial" not in welcome.text and "staff of" not in welcome.text
