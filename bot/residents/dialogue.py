"""The residents' conversation, transport-neutral: (chat, input) -> replies (HTML text + buttons).

The console chat and the Telegram handlers both reach it through the one router
(``bot.chat.router.Conversation``), which decides that an update is a resident's and passes on a
command, a question or a decoded button (``bot.chat.buttons``: the routes of desk
``residents``). This class holds what every screen shares (the catalog, the catalogs of
interface texts, the chat's language, a small session per chat) and the table of button routes;
the screens themselves are mixins, one module each:

* ``bot.residents.screens``: menu, help, the command list, hints and refusals;
* ``bot.residents.browse``: fields, goals, measures, offers, official texts;
* ``bot.residents.questions``: the answer to a question, more results, votes;
* ``bot.residents.account``: language, privacy, /delete, newsletter subscriptions.

The chat's language comes from the update's actor (``bot.chat.actor``, read once by the
router); outside an update (tests, benchmarks) it is read from ``prefs``.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo

from bot import paths
from bot.chat import actor as actors
from bot.chat.buttons import Press
from bot.chat.replies import Reply, esc, finish
from bot.chat.router import Conversation, Inbound, Kind
from bot.clock import Clock
from bot.content.catalog import Catalog
from bot.i18n import Translations
from bot.languages import SUPPORTED_LANGUAGES, normalise_code
from bot.newsletters.definitions import load_definitions
from bot.newsletters.subscriptions import MemorySubscriptions, Subscriptions
from bot.residents import links
from bot.residents.account import AccountScreens
from bot.residents.browse import BrowseScreens
from bot.residents.ports import NullRecorder, Preferences, Recorder, StaffLinks
from bot.residents.questions import MAX_INPUT_CHARS, QuestionScreens
from bot.residents.screens import CommonScreens
from bot.search.index import Hit

__all__ = ["MAX_INPUT_CHARS", "PERSONAL_COMMANDS", "Dialogue"]

# Personal to one person, so only in a private chat: in a group they would act for the group.
PERSONAL_COMMANDS = frozenset({"newsletters", "delete"})


@dataclass
class _Session:
    hits: list[Hit] = field(default_factory=list)
    suggested: str | None = None  # the language suggested before the user chose one
    votes: set[str] = field(default_factory=set)


class Dialogue(CommonScreens, BrowseScreens, QuestionScreens, AccountScreens):
    def __init__(
        self,
        catalog: Catalog,
        translations: Translations,
        prefs: Preferences,
        *,
        default_language: str = "de",
        timezone: str = "Europe/Berlin",
        max_sessions: int = 10_000,
        recorder: Recorder | None = None,
        subscriptions: Subscriptions | None = None,
        clock: Callable[[], datetime] | None = None,
        staff: StaffLinks | None = None,
    ):
        self.catalog = catalog
        self.clock: Callable[[], datetime] = clock or Clock()
        self.staff = staff
        self.subscriptions: Subscriptions = subscriptions or MemorySubscriptions(
            load_definitions(paths.DATA_DIR)
        )
        self.translations = translations
        self.prefs = prefs
        self.recorder: Recorder = recorder or NullRecorder()
        self.default_language = default_language
        self.tz = ZoneInfo(timezone)
        self._sessions: OrderedDict[int, _Session] = OrderedDict()
        self._max_sessions = max_sessions
        self._residents_only = None  # a router without staff desks, for handle_text/handle_button

    # -- the chat's language and session ---------------------------------------------------------
    @property
    def languages(self) -> list[str]:
        """Languages a user can choose: supported, with content, in the canonical order."""
        have = self.catalog.languages
        return [code for code in SUPPORTED_LANGUAGES if code in have]

    def language_of(self, user_id: int) -> str:
        """The chosen language; before a choice, the one suggested at the start (Telegram's
        ``language_code``, ``chat --lang``), else the default."""
        actor = actors.current(user_id)
        chosen = actor.lang if actor is not None else self.prefs.get_language(user_id)
        if chosen:
            return chosen
        session = self._sessions.get(user_id)
        return (session.suggested if session and session.suggested else None) or self.default_language

    def remember_suggestion(self, user_id: int, suggested: str | None) -> None:
        code = normalise_code(suggested) if suggested else None
        if code in self.languages:
            self._session(user_id).suggested = code

    def choose_language(self, user_id: int, lang: str) -> None:
        self.prefs.set_language(user_id, lang)
        actors.language_chosen(user_id, lang)

    def _t(self, lang: str):
        return self.translations.get(lang)

    def _session(self, user_id: int) -> _Session:
        s = self._sessions.pop(user_id, None) or _Session()
        self._sessions[user_id] = s
        while len(self._sessions) > self._max_sessions:
            self._sessions.popitem(last=False)
        return s

    def _finish(self, replies: list[Reply]) -> list[Reply]:
        return finish(replies)

    # -- entry points (the router calls these) ---------------------------------------------------
    def start(self, user_id: int, suggested: str | None = None) -> list[Reply]:
        """First contact (or /start): offer the language picker, suggested language first."""
        current = self.language_of(user_id) if self._has_chosen(user_id) else None
        self.remember_suggestion(user_id, suggested)
        lang = current or normalise_code(suggested) or self.default_language
        if lang not in self.languages:
            lang = self.default_language
        _ = self._t(lang).gettext
        text = _("Welcome to Ankommen, the integration guide of the City of Magdeburg.") + "\n\n"
        text += _("Please choose your language.")
        return self._finish([Reply(esc(text), self._language_buttons(first=lang), lang)])

    def _has_chosen(self, user_id: int) -> bool:
        actor = actors.current(user_id)
        return bool(actor.lang if actor is not None else self.prefs.get_language(user_id))

    def open_link(self, user_id: int, payload: str, suggested: str | None = None) -> list[Reply]:
        """``/start <payload>``: a resident's deep link (``bot.residents.links``) opens its
        measure, offer or language; anything else is a plain /start."""
        link = links.parse(payload)
        if link is not None and link.kind == "language" and link.key in self.languages:
            self.choose_language(user_id, link.key)
            return self._finish(self.menu(user_id, greeting=True))
        if link is None or link.kind == "language":
            return self.start(user_id, suggested)
        if link.lang in self.languages and not self._has_chosen(user_id):
            self._session(user_id).suggested = link.lang
        lang = self.language_of(user_id)
        if link.kind == "measure" and link.key in self.catalog.measures:
            return self._finish([self.measure_card(lang, self.catalog.measures[link.key])])
        if link.kind == "offer" and link.key in self.catalog.offers:
            return self._finish([self.offer_card(lang, self.catalog.offers[link.key])])
        return self.start(user_id, suggested)  # the poster names something no longer there

    def ask_text(self, user_id: int, text: str) -> list[Reply]:
        return self._finish(self.ask(user_id, text.strip()))

    def command(self, user_id: int, name: str, *, private: bool = True) -> list[Reply]:
        """A residents' command; in a group (``private=False``) personal ones only get a hint."""
        if not private and name in PERSONAL_COMMANDS:
            return self._finish([self.private_only(self.language_of(user_id))])
        return self._finish(self._command(user_id, name))

    def press(self, user_id: int, press: Press) -> list[Reply]:
        """A decoded button of the residents' desk. What no longer exists (a measure gone after
        an import, a page past the end, an old result) gets "this button has expired"."""
        try:
            replies = self._ROUTES[press.head](self, user_id, self.language_of(user_id), *press.args)
        except (ValueError, KeyError, IndexError):
            replies = None
        return self._finish(replies or [self.expired(self.language_of(user_id))])

    # Convenience for tests, benchmarks and the console without a store: the same router.
    def handle_text(
        self, user_id: int, text: str, *, suggested: str | None = None, private: bool = True
    ) -> list[Reply]:
        return self._router().handle(Inbound(user_id, Kind.TEXT, text, suggested, private)).replies

    def handle_button(self, user_id: int, data: str, *, private: bool = True) -> list[Reply]:
        inbound = Inbound(user_id, Kind.BUTTON, data if isinstance(data, str) else "", private=private)
        return self._router().handle(inbound).replies

    def _router(self) -> Conversation:
        if self._residents_only is None:
            self._residents_only = Conversation(self)
        return self._residents_only

    # -- the residents' button routes (bot.chat.buttons, desk "residents") ----------------------
    def _choose(self, user_id: int, lang: str, code: str | None = None) -> list[Reply] | None:
        if code is None:
            return self.language_picker(user_id)
        if code not in self.languages:
            return None
        self.choose_language(user_id, code)
        return self.menu(user_id, greeting=True)

    def _delete(self, user_id: int, lang: str, answer: str | None = None) -> list[Reply] | None:
        if answer is None:
            return [self.delete_confirm(lang, staff=self._is_staff(user_id))]
        if answer == "yes":
            return [self.delete_done(user_id, lang)]
        return [self.delete_kept(lang)] if answer == "no" else None

    def _subscription(self, user_id: int, lang: str, newsletter: str, *, toggle: bool) -> list[Reply] | None:
        if newsletter not in self.subscriptions.newsletters:
            return None
        if toggle:
            return self.toggle_subscription(user_id, newsletter)
        return [self.left(lang, newsletter, self.subscriptions.unsubscribe(user_id, newsletter))]

    def _measure(self, lang: str, number: str, *, official: bool = False) -> list[Reply] | None:
        m = self.catalog.measures.get(number)
        if m is None:
            return None
        return [self.official_text(lang, m) if official else self.measure_card(lang, m)]

    def _offer(self, lang: str, offer_id: str) -> list[Reply] | None:
        o = self.catalog.offers.get(offer_id)
        return [self.offer_card(lang, o)] if o is not None else None

    _ROUTES: dict[str, Callable[..., list[Reply] | None]] = {
        "L": lambda d, u, lang, *a: d._choose(u, lang, *a),
        "M": lambda d, u, lang: d.menu(u),
        "A": lambda d, u, lang: [d._ask_prompt(lang)],
        "T": lambda d, u, lang: [d.topics(lang)],
        "H": lambda d, u, lang: [d.help(lang)],
        "P": lambda d, u, lang: [d.privacy(lang)],
        "N": lambda d, u, lang: [d.newsletters(u)],
        "S": lambda d, u, lang, n: d._subscription(u, lang, n, toggle=True),
        "U": lambda d, u, lang, n: d._subscription(u, lang, n, toggle=False),
        "D": lambda d, u, lang, *a: d._delete(u, lang, *a),
        "O": lambda d, u, lang, page=0: [d.offers_page(lang, page)],
        "G": lambda d, u, lang, number: [d.field_goals(lang, number)],
        "F": lambda d, u, lang, number, page=0: [d.field_page(lang, number, page)],
        "m": lambda d, u, lang, number: d._measure(lang, number),
        "g": lambda d, u, lang, number: d._measure(lang, number, official=True),
        "o": lambda d, u, lang, offer_id: d._offer(lang, offer_id),
        "R": lambda d, u, lang, index: d.more_results(u, index),
        "V": lambda d, u, lang, direction, entity, key: d.vote(u, direction, entity, key),
    }

    def _command(self, user_id: int, command: str) -> list[Reply]:
        lang = self.language_of(user_id)
        if command in ("menu",):
            return self.menu(user_id)
        if command == "help":
            return [self.help(lang)]
        if command == "topics":
            return [self.topics(lang)]
        if command == "language":
            return self.language_picker(user_id)
        if command == "privacy":
            return [self.privacy(lang)]
        if command == "delete":
            return [self.delete_confirm(lang, staff=self._is_staff(user_id))]
        if command == "newsletters":
            return [self.newsletters(user_id)]
        _ = self._t(lang).gettext
        return [Reply(esc(_("I do not know this command. Try /help.")), [self._menu_row(lang)], lang)]
