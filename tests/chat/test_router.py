"""The one router, the one codec and the actor: where every update goes, on a real store.

Button data is decoded in one place (``bot.chat.buttons``): what it refuses, every desk refuses.
``/start`` payloads are told apart by their shape: a resident's deep link from a poster opens
its card and never counts against the staff invitation throttle; a staff invitation links.
"""

from __future__ import annotations

import pytest
from sqlmodel import Session, select

from bot.chat import buttons
from bot.chat.actor import Actor, StoreActors
from bot.chat.replies import Button
from bot.chat.router import Conversation, Inbound, Kind, SetCommands, parse_command
from bot.i18n import Translations
from bot.models import Resident, ThrottleEvent
from bot.newsletters.desk import NewsletterDesk
from bot.residents import links
from bot.residents.dialogue import Dialogue
from bot.residents.store import StorePreferences
from bot.staff.desk import StaffDesk
from bot.staff.directory import StaffDirectory

# -- the codec ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "data",
    [
        "O:0_1",  # int() reads it as 1
        "O:\u0661",  # an Arabic-Indic one
        "F:\u0664",  # an Arabic-Indic four
        "F:\u00b2",  # a superscript two: "²".isdigit() is true
        "F: 1",
        "F:1:2:3",  # one argument too many
        "G:",  # a required argument left out
        "K:l:-1",
        "K:q:1",  # no such staff route
        "W:s:1" + "0" * 18,  # beyond 64-bit
        "m:" + "x" * 63,  # over 64 bytes
        "m:a\x00b",
        "",
        "zz",
        "K",
    ],
)
def test_the_codec_refuses_what_no_route_allows(data):
    assert buttons.decode(data) is None


@pytest.mark.parametrize(
    ("data", "head", "args"),
    [
        ("O", "O", ()),
        ("O:", "O", ()),  # as older buttons wrote an optional argument left out
        ("O:3", "O", (3,)),
        ("F:4:1", "F", (4, 1)),
        ("L:ar", "L", ("ar",)),
        ("V:u:m:4.14", "V", ("u", "m", "4.14")),
        ("K:s:4.14:d", "K:s", ("4.14", "d")),
        ("K:p:4.14:50", "K:p", ("4.14", 50)),
        ("W:x:12", "W:x", (12,)),
    ],
)
def test_the_codec_types_what_it_accepts(data, head, args):
    press = buttons.decode(data)
    assert (press.head, press.args) == (head, args)
    assert buttons.encode(head, *args) == data.rstrip(":")


def test_a_button_the_router_cannot_route_is_never_built():
    with pytest.raises(ValueError):
        Button("x", "F:\u0664")
    with pytest.raises(ValueError):
        buttons.encode("Q", 1)


def test_every_route_belongs_to_exactly_one_desk_and_personal_ones_are_marked():
    heads = [r.head for r in buttons.ROUTES.values()]
    assert len(heads) == len(set(heads))
    for head in ("N", "S", "U", "D", "K:s", "W:n"):
        assert buttons.ROUTES[head].personal, head
    for head in ("M", "T", "m", "o", "F"):
        assert not buttons.ROUTES[head].personal, head


# -- commands, parsed once ------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "name", "args", "addressee"),
    [
        ("/start", "start", "", None),
        ("/START m_4-14", "start", "m_4-14", None),
        ("/help@AnkommenBot", "help", "", "AnkommenBot"),
        ("/away 2026-12-24  ", "away", "2026-12-24", None),
        ("/", "", "", None),
    ],
)
def test_commands_are_parsed_once_in_one_way(text, name, args, addressee):
    assert parse_command(text) == parse_command(text) is not None
    c = parse_command(text)
    assert (c.name, c.args, c.addressee) == (name, args, addressee)
    assert parse_command("where is help?") is None


# -- deep links -----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("kind", "key", "lang", "expected"),
    [
        ("measure", "4.14", "ar", "m_4-14_ar"),
        ("measure", "1.24", None, "m_1-24"),
        ("offer", "housing-counselling", "uk", "o_housing-counselling_uk"),
        ("language", "fa", None, "l_fa"),
    ],
)
def test_a_deep_link_round_trips(kind, key, lang, expected):
    assert links.payload(kind, key, lang) == expected
    assert links.parse(expected) == links.Link(kind, key, lang)


@pytest.mark.parametrize(
    "payload", ["sprachcafe", "s" + "A" * 24, "m_", "m_4-14_ar_x", "x_1", "m_4.14", "l_fa_ar"]
)
def test_what_is_not_a_residents_link(payload):
    assert links.parse(payload) is None


@pytest.fixture
def world(store, catalog_of):
    catalog = catalog_of(store)
    translations = Translations()
    directory = StaffDirectory(store, catalog.measures)
    desk = StaffDesk(directory, catalog, translations)
    dialogue = Dialogue(catalog, translations, StorePreferences(store), staff=directory)
    conversation = Conversation(
        dialogue, actors=StoreActors(store), staff=desk, newsletters=NewsletterDesk(store, dialogue)
    )
    return conversation, directory, store


def say(conversation, chat_id, text, *, lang="en", private=True):
    return conversation.handle(Inbound(chat_id, Kind.TEXT, text, lang, private))


def test_a_posters_link_opens_its_measure_in_the_posters_language(world):
    conversation, _directory, store = world
    outcome = say(conversation, 501, "/start " + links.payload("measure", "4.14", "ar"))
    [card] = outcome.replies
    assert card.lang == "ar" and "4.14" in card.html
    assert any(b.data == "g:4.14" for row in card.buttons for b in row)
    with Session(store) as s:
        assert s.get(Resident, 501) is None  # opening a link stores nothing about the resident


def test_a_chosen_language_wins_over_the_posters(world):
    conversation, *_ = world
    conversation.handle(Inbound(502, Kind.BUTTON, "L:uk", presser=502))
    [card] = say(conversation, 502, "/start m_4-14_ar").replies
    assert card.lang == "uk"


def test_a_language_link_sets_the_language(world):
    conversation, _d, store = world
    [menu] = say(conversation, 503, "/start l_fa").replies
    assert menu.lang == "fa"
    with Session(store) as s:
        assert s.get(Resident, 503).language == "fa"


def test_residents_links_never_count_against_the_invitation_throttle(world):
    conversation, directory, store = world
    member = directory.add("Anna", "Amt")
    good = directory.invite(member.id)
    for payload in ["m_4-14", "sprachcafe", "o_housing-counselling", "m_99-99", "l_xx", "plakat2026"] * 2:
        outcome = say(conversation, 504, "/start " + payload, lang="en")
        assert "invitation" not in " ".join(r.html for r in outcome.replies).lower()
    with Session(store) as s:
        assert s.exec(select(ThrottleEvent)).all() == []
    outcome = say(conversation, 504, f"/start {good}")
    assert directory.by_chat(504).id == member.id
    assert any(isinstance(e, SetCommands) and e.chat_id == 504 for e in outcome.effects)


def test_a_wrong_invitation_is_counted(world):
    conversation, _directory, store = world
    outcome = say(conversation, 505, "/start s" + "0" * 24, lang="en")
    assert "invitation" in outcome.replies[0].html.lower()
    with Session(store) as s:
        assert len(s.exec(select(ThrottleEvent)).all()) == 1


# -- the actor, once per update -------------------------------------------------------------------
def test_the_actor_is_read_once_per_update(world, monkeypatch):
    conversation, directory, store = world
    member = directory.add("Cora", "Stadt", role="coordinator")
    directory.link(506, directory.invite(member.id))
    reads = []
    original = StoreActors.resolve

    def counting(self, chat_id, **kw):
        reads.append(chat_id)
        return original(self, chat_id, **kw)

    monkeypatch.setattr(StoreActors, "resolve", counting)
    prefs_reads = []
    monkeypatch.setattr(StorePreferences, "get_language", lambda self, u: prefs_reads.append(u))
    outcome = say(conversation, 506, "/newsletter")
    assert reads == [506] and prefs_reads == []
    assert isinstance(outcome.actor, Actor) and outcome.actor.is_coordinator
    assert any(b.data.startswith("W:n:") for r in outcome.replies for row in r.buttons for b in row)


def test_staff_buttons_and_commands_refuse_residents_and_groups(world):
    conversation, *_ = world
    [toast] = conversation.handle(Inbound(507, Kind.BUTTON, "K:r:4.14", presser=507)).replies
    assert toast.toast
    [refused] = say(conversation, 507, "/mymeasures").replies
    assert "staff" in refused.html
    [hint] = conversation.handle(Inbound(-100, Kind.BUTTON, "S:1.24", "en", private=False, presser=7)).replies
    assert hint.toast and "private" in hint.html
    [forged] = conversation.handle(Inbound(508, Kind.BUTTON, "M", presser=509)).replies
    assert forged.toast  # in a private chat only the chat itself presses its buttons
