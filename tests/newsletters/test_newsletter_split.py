"""Long newsletters with links, split by Telegram's own rule (finding 1) and the converter's
placeholder (finding 17).

Telegram counts its 4,096 characters on the parsed text, in UTF-16 code units; the loopback server
(``tests/botapi.py``) parses HTML as Telegram does and refuses what Telegram refuses. An issue is
either refused at the draft step, in some language, or every subscriber in every language gets
its parts, each accepted, the unsubscribe button under the last one, no link cut, and no message
more than its parts, also when Telegram's per-chat flood control answers a later part with 429.
"""

from __future__ import annotations

import asyncio

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlmodel import Session, select

from bot import paths
from bot.chat.markup import measure, split_html
from bot.i18n import Translations
from bot.languages import SUPPORTED_LANGUAGES
from bot.models import Delivery
from bot.newsletters.definitions import load_definitions
from bot.newsletters.drafts import DraftError, build_draft
from bot.newsletters.issues import create_issue, start_sending
from bot.newsletters.outbox import Outbox, issue_renderer
from bot.newsletters.render import issue_reply
from bot.store import db
from handlers.bots import outbox_bot
from handlers.sender import BotSender
from tests.botapi import FakeBotApi, parse_entities
from tests.helpers import seed_subscribers

NEWSLETTERS = load_definitions(paths.DATA_DIR)
TRANSLATIONS = Translations()


def _link_heavy(n_links: int = 70) -> str:
    """About 3,900 visible characters with ``n_links`` links, in one paragraph (a cut must fall at
    a space, and link texts have spaces): some 10,700 characters of HTML."""
    out = []
    for i in range(n_links):
        out.append(
            f"**Angebot {i}:** Beratung im [Bürgerbüro Nord am Markt {i}]"
            f"(https://www.magdeburg.de/Start/Buerger-Stadt/Verwaltung/index.php?id={i}&x=1)"
        )
    return " ".join(out)


def _messages(draft, lang):
    return issue_reply(NEWSLETTERS, TRANSLATIONS, draft.newsletter, draft.texts, lang)


def test_a_long_issue_with_many_links_reaches_every_language_whole(any_url, engine_for, dialogue):
    body = _link_heavy()
    draft = build_draft("1.24", body + "\n# en\n" + body, NEWSLETTERS)
    html = draft.texts["de"]
    assert len(html) > 10_000 and html.count("<a href") == 70
    engine = engine_for(any_url)
    db.upgrade(engine)
    chats = seed_subscribers(engine, range(40_000, 40_000 + len(SUPPORTED_LANGUAGES)), SUPPORTED_LANGUAGES)
    lang_of = dict(zip(chats, SUPPORTED_LANGUAGES, strict=True))
    issue = create_issue(engine, draft)
    start_sending(engine, issue)
    # Telegram's flood control per chat: a second part right after the first gets a 429.
    with FakeBotApi(per_chat_interval=1.0) as api:

        async def deliver():
            async with outbox_bot(api.token, api.base_url, timeout=5) as bot:
                outbox = Outbox(engine, BotSender(bot), issue_renderer(dialogue), rate=50, lease=5)
                return await outbox.run(issue_ids=[issue], until_done=True)

        counts = asyncio.run(deliver())
        received = api.delivered()
        sent = api.calls(methods=("sendMessage",))
    assert counts == {"sent": len(chats)}
    with Session(engine) as s:
        assert set(s.exec(select(Delivery.state).where(Delivery.issue_id == issue)).all()) == {"sent"}
    for chat in chats:
        parts = split_html(_messages(draft, lang_of[chat]).html)
        assert len(parts) >= 2  # too long for one message …
        assert received[chat] == len(parts)  # … and each part arrived once, none repeated
        mine = [s for s in sent if s.chat_id == chat]
        assert [bool(s.buttons) for s in mine] == [False] * (len(mine) - 1) + [True]
        links = [e for s in mine for e in parse_entities(s.params["text"])[1] if e["type"] == "text_link"]
        assert len(links) == 70  # no link cut, none lost
        assert all(e["url"].endswith("&x=1") for e in links)


def test_the_preview_shows_the_parts_subscribers_get(tmp_path):
    from tests.helpers import run_cli

    draft_file = tmp_path / "lang.md"
    draft_file.write_text('---\nnewsletter: "1.24"\n---\n' + _link_heavy(), encoding="utf-8")
    env = {"ANKOMMEN_STATE_DIR": str(tmp_path)}
    made = run_cli("newsletter", "draft", str(draft_file), env=env)
    assert made.returncode == 0, made.stderr
    issue = made.stdout.split()[1]
    shown = run_cli("newsletter", "preview", issue, "--lang", "fa", env=env)
    assert shown.returncode == 0, shown.stderr
    draft = build_draft("1.24", _link_heavy(), NEWSLETTERS)
    n = len(split_html(_messages(draft, "fa").html))
    assert n >= 2 and f"--- message {n} of {n} ---" in shown.stdout
    assert shown.stdout.count("Bürgerbüro Nord") == 70


@pytest.mark.parametrize("language", ["de", "ar", "vi"])
def test_an_issue_that_cannot_be_split_cleanly_is_refused_in_every_language(language):
    # A link longer than a message: it cannot be cut without breaking the link.
    body = "Hallo\n# en\nHello"
    text = "[" + "Nachbarschaft " * 300 + "](https://www.magdeburg.de/)"
    body = text if language == "de" else body + f"\n# {language}\n" + text
    with pytest.raises(DraftError, match=f"the {language} text cannot be split"):
        build_draft("1.24", body, NEWSLETTERS)
    # An image caption cannot be split at all: the title line counts too.
    png = b"\x89PNG\r\n\x1a\n" + bytes(32)
    heads = [issue_reply(NEWSLETTERS, TRANSLATIONS, "1.24", {"de": ""}, lang) for lang in SUPPORTED_LANGUAGES]
    room = 1024 - max(measure(h.html).units for h in heads)  # the longest title line and note
    build_draft("1.24", "x" * room, NEWSLETTERS, image=png)  # exactly full in one language …
    with pytest.raises(DraftError, match="image caption"):  # … one more is one too many
        build_draft("1.24", "x" * (room + 1), NEWSLETTERS, image=png)


def test_the_converters_placeholder_in_a_text_is_just_text():
    """NUL, digit, NUL is how the converter marks a link it set aside; a text holding that mark
    got a link copied into it (or an IndexError). NUL is invisible: it is dropped."""
    body = "Siehe [Rathaus](https://www.magdeburg.de/) und \x000\x00 und \x007\x00 Ende"
    draft = build_draft("1.24", body, NEWSLETTERS)
    assert draft.texts["de"].count("<a href") == 1
    assert "\x00" not in draft.texts["de"] and draft.texts["de"].endswith("und 0 und 7 Ende")


# --- the property: any text, any length, any language -------------------------------------------------

WORDS = st.sampled_from(
    [
        "Hallo", "Seniorencafé", "مرحبا", "خانه", "Привіт", "Здравствуйте", "Merhaba", "Dzień",
        "Bună", "Xin chào", "🙂", "👩‍👩‍👧", "𝔘𝔫𝔦", "&", "<", ">", "&amp;", "&nbsp;", "\"", "'",
        "**", "*", "_", "#", "[", "]", "(", ")", "\x00", "\x000\x00", "\u202e", "\u200f", "ß", "İ",
    ]
)  # fmt: skip
URLS = st.sampled_from(
    [
        "https://www.magdeburg.de/",
        "https://www.magdeburg.de/Start/B%C3%BCrger-Stadt/index.php?id=1&x=2",
        "https://example.org/" + "a" * 300,
    ]
)
LINK = st.builds(lambda t, u: f"[{t}]({u})", st.lists(WORDS, min_size=1, max_size=6).map(" ".join), URLS)
PIECE = st.one_of(WORDS, LINK, st.sampled_from([" ", "\n", "\n\n", "**fett** ", "*kursiv* ", "# Titel\n"]))
SECTION = st.one_of(
    st.lists(PIECE, max_size=60).map("".join),
    st.tuples(st.lists(PIECE, min_size=1, max_size=8), st.integers(1, 400)).map(
        lambda t: "".join(t[0]) * t[1]
    ),
)


@pytest.fixture(scope="module")
def api():
    with FakeBotApi() as server:
        yield server


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    german=SECTION,
    others=st.dictionaries(st.sampled_from(SUPPORTED_LANGUAGES[1:]), SECTION, max_size=3),
)
def test_any_issue_is_refused_or_reaches_everyone_in_its_parts(api, german, others):
    body = german + "".join(f"\n# {lang}\n{text}" for lang, text in others.items())
    try:
        draft = build_draft("1.32", body, NEWSLETTERS)
    except DraftError:
        return  # refused at the draft step, with a reason, before anything is stored
    chats = {lang: 50_000 + i for i, lang in enumerate(SUPPORTED_LANGUAGES)}
    before = api.delivered()

    async def send_all():
        async with outbox_bot(api.token, api.base_url, timeout=5) as bot:
            sender = BotSender(bot)
            results = {}
            for lang, chat in chats.items():
                results[lang] = await sender.send(chat, _messages(draft, lang))
            return results

    results = asyncio.run(send_all())
    after = api.delivered()
    for lang, chat in chats.items():
        parts = split_html(_messages(draft, lang).html)
        assert results[lang].ok, (lang, results[lang].detail)  # the loopback accepted every part
        assert after[chat] - before[chat] == len(parts)  # and got no more messages than its parts
