"""The transport-neutral conversation: (user, input) -> replies (HTML text + buttons).

The console chat and the Telegram handlers both drive it. Replies use the small HTML subset that
Telegram accepts (<b>, <i>); every inserted value is escaped here. Button data is a short,
versionless code of at most 64 bytes (Telegram's ``callback_data`` limit):

    L:[<lang>]      the language picker, or choose a language         M   main menu       A  ask a question
    T               topics (fields)            H   help
    F:<n>[:<page>]  a field's measures         m:<number>          a measure
    G:<n>           a field's goals
    g:<number>      the official German text   o:<offer id>        an offer
    R:<index>       more results of the last question
    O[:<page>]      all offers, paginated      N   newsletters     P  privacy
    D:[yes|no]      erase my data (ask first, then confirm or keep)
    V:<u|d>:<m|o>:<id>   a vote (👍/👎) on a measure or an offer
    S:<newsletter>  subscribe to or leave a newsletter (a toggle)    U:<newsletter>  leave (issues)

Two more prefixes belong to other desks: ``K:…`` to staff reporting a status (``bot.staff.desk``)
and ``W:…`` to coordinators writing a newsletter issue (``bot.newsletters.desk``).

Replies for right-to-left languages get every Latin-script run and every number wrapped in
Unicode isolates in one place (``_finish``), so names like "Sozial- und Wohnungsamt" and
measure numbers read correctly inside Arabic or Persian text.
"""

from __future__ import annotations

import html
import re
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol
from zoneinfo import ZoneInfo

from babel.dates import format_date
from babel.numbers import format_decimal

from bot import paths
from bot.clock import Clock
from bot.content.catalog import Catalog, MeasureView, OfferView, Status, pick_text
from bot.i18n import Translations
from bot.languages import (
    SUPPORTED_LANGUAGES,
    is_rtl,
    isolate,
    isolate_latin_runs,
    native_name,
    normalise_code,
)
from bot.newsletters.issues import MemorySubscriptions, Subscriptions, load_definitions
from bot.residents.answers import answer
from bot.residents.cards import referral_lines, safety_lines, stage_line
from bot.search.index import MAX_QUERY_CHARS, Hit
from bot.search.text import detect_language

CALLBACK_MAX_BYTES = 64
# Personal to one person, so only in a private chat: in a group they would act for the group.
PERSONAL_COMMANDS = frozenset({"newsletters", "delete"})
PERSONAL_BUTTONS = frozenset({"N", "S", "U", "D", "K", "W"})
PAGE_SIZE = 8
MAX_INPUT_CHARS = 1000
STALE_AFTER_DAYS = 183


@dataclass(frozen=True)
class Button:
    label: str
    data: str

    def __post_init__(self) -> None:
        if len(self.data.encode()) > CALLBACK_MAX_BYTES:
            raise ValueError(f"button data over {CALLBACK_MAX_BYTES} bytes: {self.data!r}")


@dataclass
class Reply:
    """One message. ``toast`` marks a short notice (Telegram shows it as the button's answer)."""

    html: str
    buttons: list[list[Button]] = field(default_factory=list)
    lang: str = "de"
    toast: bool = False


class Preferences(Protocol):
    """Where a user's language is kept (memory for the console, the store for Telegram)."""

    def get_language(self, user_id: int) -> str | None: ...

    def set_language(self, user_id: int, lang: str) -> None: ...

    def forget(self, user_id: int) -> bool:
        """Erase everything kept about the user; True if there was anything."""
        ...


class Recorder(Protocol):
    """Where unanswered questions and votes go (the store); never with a user id."""

    def record_gap(self, text: str, lang: str) -> None: ...

    def record_vote(self, entity: str, key: str, up: bool) -> None: ...

    def record_referral(self, text: str, lang: str, topic: str) -> None: ...

    def record_safety(self, topic: str) -> None: ...


class StaffLinks(Protocol):
    """The staff side of a chat, for /delete (``bot.staff.directory.StaffDirectory`` in the store)."""

    def is_linked(self, chat_id: int) -> bool: ...

    def forget_chat(self, chat_id: int) -> bool:
        """Erase the chat's staff link and what hangs on it; True if it was linked."""
        ...


class MemoryPreferences:
    def __init__(self) -> None:
        self._langs: dict[int, str] = {}

    def get_language(self, user_id: int) -> str | None:
        return self._langs.get(user_id)

    def set_language(self, user_id: int, lang: str) -> None:
        self._langs[user_id] = lang

    def forget(self, user_id: int) -> bool:
        return self._langs.pop(user_id, None) is not None


class NullRecorder:
    def record_gap(self, text: str, lang: str) -> None:
        pass

    def record_vote(self, entity: str, key: str, up: bool) -> None:
        pass

    def record_referral(self, text: str, lang: str, topic: str) -> None:
        pass

    def record_safety(self, topic: str) -> None:
        pass


@dataclass
class _Session:
    hits: list[Hit] = field(default_factory=list)
    suggested: str | None = None  # the language suggested before the user chose one
    votes: set[str] = field(default_factory=set)


def esc(value: object) -> str:
    return html.escape(str(value), quote=False)


class Dialogue:
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

    # -- helpers -----------------------------------------------------------------------------
    @property
    def languages(self) -> list[str]:
        """Languages a user can choose: supported, with content, in the canonical order."""
        have = self.catalog.languages
        return [code for code in SUPPORTED_LANGUAGES if code in have]

    def language_of(self, user_id: int) -> str:
        """The chosen language; before a choice, the one suggested at the start (Telegram's
        ``language_code``, ``chat --lang``), else the default."""
        chosen = self.prefs.get_language(user_id)
        if chosen:
            return chosen
        session = self._sessions.get(user_id)
        return (session.suggested if session and session.suggested else None) or self.default_language

    def _remember_suggestion(self, user_id: int, suggested: str | None) -> None:
        code = normalise_code(suggested) if suggested else None
        if code in self.languages:
            self._session(user_id).suggested = code

    def _t(self, lang: str):
        return self.translations.get(lang)

    def _session(self, user_id: int) -> _Session:
        s = self._sessions.pop(user_id, None) or _Session()
        self._sessions[user_id] = s
        while len(self._sessions) > self._max_sessions:
            self._sessions.popitem(last=False)
        return s

    # -- entry points ------------------------------------------------------------------------
    def start(self, user_id: int, suggested: str | None = None) -> list[Reply]:
        """First contact (or /start): offer the language picker, suggested language first."""
        current = self.prefs.get_language(user_id)
        self._remember_suggestion(user_id, suggested)
        lang = current or normalise_code(suggested) or self.default_language
        if lang not in self.languages:
            lang = self.default_language
        _ = self._t(lang).gettext
        text = _("Welcome to Ankommen, the integration guide of the City of Magdeburg.") + "\n\n"
        text += _("Please choose your language.")
        return self._finish([Reply(esc(text), self._language_buttons(first=lang), lang)])

    def handle_text(
        self, user_id: int, text: str, *, suggested: str | None = None, private: bool = True
    ) -> list[Reply]:
        """A typed message: a command (``/help``) or a question. ``private=False``: a group
        (``user_id`` is the group's chat), where personal commands only get a hint."""
        self._remember_suggestion(user_id, suggested)
        stripped = text.strip()
        if stripped.startswith("/"):
            head = stripped[1:].split(maxsplit=1)[0] if len(stripped) > 1 else ""
            command = head.split("@", 1)[0].lower()
            if command == "start":
                return self.start(user_id, suggested)
            if not private and command in PERSONAL_COMMANDS:
                return self._finish([self.private_only(self.language_of(user_id))])
            return self._finish(self._command(user_id, command))
        return self._finish(self.ask(user_id, stripped))

    def handle_button(self, user_id: int, data: str, *, private: bool = True) -> list[Reply]:
        """A pressed button. Unknown, forged or stale data changes nothing: a short notice. In a
        group (``private=False``), personal buttons (newsletters, erasing data) change nothing
        either: a member must not subscribe the group, or erase it; the notice says to use a
        private chat."""
        if not private and data.partition(":")[0] in PERSONAL_BUTTONS:
            return self._finish([self.private_only(self.language_of(user_id), toast=True)])
        try:
            replies = self._button(user_id, data)
        except (ValueError, KeyError, IndexError):
            replies = None
        return self._finish(replies or [self.expired(self.language_of(user_id))])

    def _button(self, user_id: int, data: str) -> list[Reply] | None:
        lang = self.language_of(user_id)
        kind, _, arg = data.partition(":")
        if kind == "L" and not arg:
            return self.language_picker(user_id)
        if kind == "L" and arg in self.languages:
            self.prefs.set_language(user_id, arg)
            return self.menu(user_id, greeting=True)
        if kind == "M" and not arg:
            return self.menu(user_id)
        if kind == "A" and not arg:
            return [self._ask_prompt(lang)]
        if kind == "T" and not arg:
            return [self.topics(lang)]
        if kind == "H" and not arg:
            return [self.help(lang)]
        if kind == "P" and not arg:
            return [self.privacy(lang)]
        if kind == "N" and not arg:
            return [self.newsletters(user_id)]
        if kind == "S" and arg in self.subscriptions.newsletters:
            return self.toggle_subscription(user_id, arg)
        if kind == "U" and arg in self.subscriptions.newsletters:
            return [self.left(lang, arg, self.subscriptions.unsubscribe(user_id, arg))]
        if kind == "D" and not arg:
            return [self.delete_confirm(lang, staff=self._is_staff(user_id))]
        if kind == "D" and arg in ("yes", "no"):
            return [self.delete_done(user_id, lang)] if arg == "yes" else [self.delete_kept(lang)]
        if kind == "O":
            return [self.offers_page(lang, int(arg or 0))]
        if kind == "G":
            return [self.field_goals(lang, int(arg))]
        if kind == "F":
            number, _, page = arg.partition(":")
            return [self.field_page(lang, int(number), int(page or 0))]
        if kind == "m" and arg in self.catalog.measures:
            return [self.measure_card(lang, self.catalog.measures[arg])]
        if kind == "g" and arg in self.catalog.measures:
            return [self.official_text(lang, self.catalog.measures[arg])]
        if kind == "o" and arg in self.catalog.offers:
            return [self.offer_card(lang, self.catalog.offers[arg])]
        if kind == "R":
            return self.more_results(user_id, int(arg))
        if kind == "V":
            return self.vote(user_id, arg)
        return None

    def _finish(self, replies: list[Reply]) -> list[Reply]:
        return finish(replies)

    # -- notices for the transport (rate limit, other message types, errors) -------------------
    def too_fast(self, user_id: int, seconds: int) -> list[Reply]:
        lang = self.language_of(user_id)
        text = (
            self._t(lang)
            .ngettext(
                "You are sending messages very fast. Please wait {seconds} second and ask again.",
                "You are sending messages very fast. Please wait {seconds} seconds and ask again.",
                seconds,
            )
            .format(seconds=format_decimal(seconds, locale=lang))
        )
        return self._finish([Reply(esc(text), [], lang)])

    def unsupported(self, user_id: int, *, edited: bool = False) -> list[Reply]:
        """A sticker, photo, voice message, location … or an edited message: a one-line hint."""
        lang = self.language_of(user_id)
        _ = self._t(lang).gettext
        if edited:
            text = _("I do not read edited messages. Please send your question again as a new message.")
        else:
            text = _("I can only read text. Please type your question.")
        return self._finish([Reply(esc(text), [], lang)])

    def apology(self, user_id: int, suggested: str | None = None) -> list[Reply]:
        """After an internal error: one line, without touching the store (it may be the fault)."""
        try:
            lang = self.prefs.get_language(user_id)
        except Exception:  # noqa: BLE001 - the store may be what failed
            lang = None
        lang = lang or normalise_code(suggested) or self.default_language
        _ = self._t(lang).gettext
        text = _("Sorry, something went wrong on my side. Please try again later.")
        return self._finish([Reply(esc(text), [], lang)])

    def command_menu(self, lang: str) -> list[tuple[str, str]]:
        """The command list Telegram shows (setMyCommands), in ``lang``."""
        _ = self._t(lang).gettext
        return [
            ("start", _("Start and choose your language")),
            ("topics", _("Browse the topics")),
            ("language", _("Change the language")),
            ("newsletters", _("Newsletters")),
            ("privacy", _("What I store about you")),
            ("delete", _("Delete my data")),
            ("help", _("How this bot works")),
        ]

    def private_only(self, lang: str, *, toast: bool = False) -> Reply:
        """In a group: newsletters and erasing data are for a private chat with the bot."""
        _ = self._t(lang).gettext
        text = _(
            "Newsletters and deleting your data work only in a private chat with me. Please write to me directly."
        )
        return Reply(esc(text), [], lang, toast=toast)

    # -- screens -----------------------------------------------------------------------------
    def expired(self, lang: str) -> Reply:
        _ = self._t(lang).gettext
        return Reply(
            esc(_("This button has expired. Please start again from the menu.")), [], lang, toast=True
        )

    def menu(self, user_id: int, *, greeting: bool = False) -> list[Reply]:
        lang = self.language_of(user_id)
        _ = self._t(lang).gettext
        text = ""
        if greeting:
            text = (
                _(
                    "Hello! I help you find offers and contacts of the City of Magdeburg's integration concept."
                )
                + "\n"
            )
            text += _("Ask me a question in your own words, in any of my languages.") + "\n\n"
        text += _("What would you like to do?")
        buttons = [
            [Button(_("Ask a question"), "A"), Button(_("Topics"), "T")],
            [Button(_("Newsletters"), "N"), Button(_("Language"), "L:")],
            [Button(_("Privacy"), "P"), Button(_("Help"), "H")],
        ]
        return [Reply(esc(text), buttons, lang)]

    def _ask_prompt(self, lang: str) -> Reply:
        _ = self._t(lang).gettext
        return Reply(
            _(
                "Type your question in your own words, for example: \u201cMy landlord gave me notice, who can help me?\u201d"
            ),
            [self._menu_row(lang)],
            lang,
        )

    def help(self, lang: str) -> Reply:
        _ = self._t(lang).gettext
        lines = [
            "<b>" + esc(_("How Ankommen works")) + "</b>",
            esc(
                _(
                    "Write your question in your own words. I search the measures and offers of the City of Magdeburg's integration concept and show you the best answers."
                )
            ),
            esc(
                _(
                    "Each answer names the responsible body and the measure's number, and a button shows the official German text."
                )
            ),
            esc(
                _(
                    "Plain-language texts are machine-made until a person has reviewed them. The official German text is binding."
                )
            ),
            "",
            esc(_("Commands: /start, /topics, /language, /newsletters, /privacy, /delete, /help")),
        ]
        return Reply("\n".join(lines), [self._menu_row(lang)], lang)

    def language_picker(self, user_id: int) -> list[Reply]:
        lang = self.language_of(user_id)
        _ = self._t(lang).gettext
        return [Reply(esc(_("Please choose your language.")), self._language_buttons(first=lang), lang)]

    def topics(self, lang: str) -> Reply:
        _ = self._t(lang).gettext
        rows = []
        for f in self.catalog.fields.values():
            t = pick_text(f.texts, lang)
            title = t.title if t else f.title_de
            rows.append([Button(f"{f.number}. {title}", f"F:{f.number}")])
        rows.append([Button(_("All offers for residents"), "O")])
        rows.append(self._menu_row(lang))
        return Reply("<b>" + esc(_("Topics")) + "</b>\n" + esc(_("Choose a field of action.")), rows, lang)

    def field_page(self, lang: str, number: int, page: int) -> Reply:
        _ = self._t(lang).gettext
        f = self.catalog.fields[number]
        measures = f.measures
        shown, pages, nav = self._paginate(lang, measures, page, f"F:{number}:")
        t = pick_text(f.texts, lang)
        lines = ["<b>" + esc(t.title if t else f.title_de) + "</b>"]
        if t:
            lines.append(esc(t.summary))
        lines.append("")
        count = self._t(lang).ngettext(
            "This field has {count} measure.", "This field has {count} measures.", len(measures)
        )
        lines.append(esc(count.format(count=format_decimal(len(measures), locale=lang))))
        lines.append(esc(_("Page {page} of {pages}").format(page=page + 1, pages=pages)))
        rows = []
        for num in shown:
            m = self.catalog.measures[num]
            mt = pick_text(m.texts, lang)
            rows.append([Button(f"{m.number} · {mt.title if mt else m.text_de[:40]}", f"m:{num}")])
        rows += nav
        rows.append([Button(_("Goals"), f"G:{number}")])
        rows.append(self._nav_row(lang))
        return Reply("\n".join(lines), rows, lang)

    def field_goals(self, lang: str, number: int) -> Reply:
        """The field's main goals in plain language (the German wording is in the official text)."""
        _ = self._t(lang).gettext
        f = self.catalog.fields[number]
        t = pick_text(f.texts, lang)
        lines = ["<b>" + esc(t.title if t else f.title_de) + "</b>", "<i>" + esc(_("Goals")) + "</i>", ""]
        machine = False
        for g in f.goals:
            gt = pick_text(self.catalog.goal_texts.get(g.id, {}), lang)
            if gt is None:
                lines.append("• " + esc(g.text_de))
                continue
            machine = machine or gt.machine
            lines.append("• <b>" + esc(gt.title) + "</b>: " + esc(gt.summary))
        lines += [""] + self._machine_note(lang, machine)
        return Reply("\n".join(lines), [[Button(_("Back"), f"F:{number}")], self._nav_row(lang)], lang)

    def offers_page(self, lang: str, page: int) -> Reply:
        _ = self._t(lang).gettext
        shown, pages, nav = self._paginate(lang, list(self.catalog.offers.values()), page, "O:")
        lines = [
            "<b>" + esc(_("All offers for residents")) + "</b>",
            esc(_("Page {page} of {pages}").format(page=page + 1, pages=pages)),
        ]
        rows = []
        for o in shown:
            t = pick_text(o.texts, lang)
            rows.append([Button(t.title if t else o.id, f"o:{o.id}")])
        rows += nav
        rows.append(self._nav_row(lang))
        return Reply("\n".join(lines), rows, lang)

    def privacy(self, lang: str) -> Reply:
        _ = self._t(lang).gettext
        lines = [
            "<b>" + esc(_("What I store about you")) + "</b>",
            "• " + esc(_("Your chat number, so that I can answer you.")),
            "• " + esc(_("The language you chose.")),
            "• " + esc(_("The newsletters you subscribed to, if any.")),
            "",
            esc(_("I do not store your name, your phone number or your messages.")),
            esc(
                _(
                    "Questions I could not answer are kept without any link to you, with phone numbers and e-mail addresses removed, so that the city can improve the answers."
                )
            ),
            esc(_("Your 👍 and 👎 are counted per answer, without any link to you.")),
            "",
            esc(_("With /delete you erase everything I store about you.")),
        ]
        return Reply("\n".join(lines), [[Button(_("Delete my data"), "D:")], self._menu_row(lang)], lang)

    def _is_staff(self, user_id: int) -> bool:
        return self.staff is not None and self.staff.is_linked(user_id)

    def delete_confirm(self, lang: str, *, staff: bool = False) -> Reply:
        """Ask before erasing; a staff member is told what goes and what stays on the staff side."""
        _ = self._t(lang).gettext
        text = _(
            "Do you really want to delete everything I store about you (language and newsletter subscriptions)?"
        )
        if staff:
            text += "\n\n" + _(
                "You are linked as staff. Deleting also unlinks this chat from your staff entry and drops "
                "a status answer or newsletter issue you have started. The status reports you have made "
                "stay, because the implementation report (measure 7.16) needs them. Your name, "
                "organisation and measures stay with the coordinators; ask them if you want those erased."
            )
        buttons = [[Button(_("Yes, delete"), "D:yes"), Button(_("No, keep it"), "D:no")]]
        return Reply(esc(text), buttons, lang)

    def delete_done(self, user_id: int, lang: str) -> Reply:
        _ = self._t(lang).gettext
        was_staff = self.staff.forget_chat(user_id) if self.staff is not None else False
        self.prefs.forget(user_id)
        self._sessions.pop(user_id, None)
        if was_staff:
            text = _(
                "Done: I have deleted your language, your newsletter subscriptions, the link between "
                "this chat and your staff entry, and any status answer or newsletter issue you had "
                "started. The status reports you have made stay in the implementation report (measure "
                "7.16). Your name, organisation and measures stay with the coordinators; ask them if you "
                "want those erased. A new invitation link connects you again."
            )
        else:
            text = _(
                "Done: I have deleted everything I stored about you. If you write to me again, I start afresh."
            )
        return Reply(esc(text), [], lang)

    def delete_kept(self, lang: str) -> Reply:
        _ = self._t(lang).gettext
        return Reply(esc(_("Nothing was deleted.")), [self._menu_row(lang)], lang)

    def newsletters(self, user_id: int) -> Reply:
        """The newsletters, each with a toggle button: one tap subscribes, the next one leaves."""
        lang = self.language_of(user_id)
        _ = self._t(lang).gettext
        active = self.subscriptions.active(user_id)
        lines = ["<b>" + esc(_("Newsletters")) + "</b>", ""]
        rows = []
        for n in self.subscriptions.newsletters.values():
            title, description = n.text(lang)
            mark = "✅" if n.id in active else "➕"
            number = esc(_("measure {number}").format(number=isolate(n.id, lang)))
            lines += [f"{mark} <b>{esc(title)}</b> ({number})", esc(description), ""]
            rows.append([Button(f"{mark} {title}", f"S:{n.id}")])
        lines.append(esc(_("Tap a newsletter to subscribe, and tap it again to leave.")))
        rows.append(self._nav_row(lang))
        return Reply("\n".join(lines), rows, lang)

    def toggle_subscription(self, user_id: int, newsletter: str) -> list[Reply]:
        lang = self.language_of(user_id)
        _ = self._t(lang).gettext
        if newsletter in self.subscriptions.active(user_id):
            notice = self.left(lang, newsletter, self.subscriptions.unsubscribe(user_id, newsletter))
        else:
            self.subscriptions.subscribe(user_id, newsletter, lang)
            title = self.subscriptions.newsletters[newsletter].title(lang)
            notice = Reply(
                esc(_("You are now subscribed to this newsletter: {title}.").format(title=title)),
                [],
                lang,
                toast=True,
            )
        return [notice, self.newsletters(user_id)]

    def left(self, lang: str, newsletter: str, _was_subscribed: bool = True) -> Reply:
        """Leaving says so, whether or not the subscription was still there (a second tap)."""
        _ = self._t(lang).gettext
        title = self.subscriptions.newsletters[newsletter].title(lang)
        text = _("You have left this newsletter: {title}. You will get no more issues.").format(title=title)
        return Reply(esc(text), [], lang, toast=True)

    def newsletter_issue(self, newsletter: str, texts: dict[str, str], lang: str) -> Reply:
        """An issue as pushed: the newsletter's title, the text in ``lang`` (or the German text
        with a one-line note), and a one-tap unsubscribe button. ``texts`` is Telegram HTML made
        by ``bot.newsletters.issues.markdown_to_html``; it is appended after the right-to-left pass so
        that its length stays what the draft check measured."""
        return issue_reply(self.subscriptions.newsletters, self.translations, newsletter, texts, lang)

    def vote(self, user_id: int, arg: str) -> list[Reply] | None:
        lang = self.language_of(user_id)
        _ = self._t(lang).gettext
        direction, _sep, target = arg.partition(":")
        entity, _sep, key = target.partition(":")
        known = {"m": self.catalog.measures, "o": self.catalog.offers}
        if direction not in ("u", "d") or entity not in known or key not in known[entity]:
            return None
        session = self._session(user_id)
        if target not in session.votes:
            session.votes.add(target)
            self.recorder.record_vote("measure" if entity == "m" else "offer", key, direction == "u")
        return [Reply(esc(_("Thank you for your feedback!")), [], lang, toast=True)]

    # -- questions ---------------------------------------------------------------------------
    def ask(self, user_id: int, text: str) -> list[Reply]:
        lang = self.language_of(user_id)
        _ = self._t(lang).gettext
        if not text:
            return [self._ask_prompt(lang)]
        replies: list[Reply] = []
        if len(text) > MAX_INPUT_CHARS:
            text = text[:MAX_INPUT_CHARS]
            notice = _("Your message is long. I read only its first {limit} characters.")
            replies.append(
                Reply(esc(notice.format(limit=format_decimal(MAX_INPUT_CHARS, locale=lang))), [], lang)
            )
        ans = answer(self.catalog, text, lang, limit=10)
        hits = ans.hits
        session = self._session(user_id)
        session.hits = hits
        if ans.safety is not None:
            # Safety first, whatever else the message asks. Never stored as a gap, never logged
            # with its text: only the topic is counted.
            self.recorder.record_safety(ans.safety.topic)
            replies.append(self.safety_card(lang, ans.safety.topic, more=bool(hits)))
            if hits:
                replies.append(self._result(lang, hits, 0))
            return replies
        if not hits:
            self.recorder.record_gap(text, lang)
            replies.append(self.no_match(lang))
        else:
            if ans.referral is not None:
                self.recorder.record_referral(text, lang, ans.referral)
            replies.append(self._result(lang, hits, 0))
        detected = detect_language(text[:MAX_QUERY_CHARS], hint=lang)  # the search's own guess
        if detected and detected != lang and detected in self.languages:
            _ = self._t(detected).gettext  # the offer is made in the language the question is in
            replies.append(
                Reply(
                    esc(
                        _("Your question looks like {language}. Do you want to switch to {language}?").format(
                            language=native_name(detected)
                        )
                    ),
                    [[Button(native_name(detected), f"L:{detected}")]],
                    detected,
                )
            )
        return replies

    def more_results(self, user_id: int, index: int) -> list[Reply]:
        lang = self.language_of(user_id)
        hits = self._session(user_id).hits
        if not 0 < index < len(hits):
            raise IndexError(index)
        return [self._result(lang, hits, index)]

    def _result(self, lang: str, hits: list[Hit], index: int) -> Reply:
        _ = self._t(lang).gettext
        hit = hits[index]
        if hit.kind == "referral":
            reply = self.referral_card(lang, hit.id)
        elif hit.kind == "offer":
            reply = self.offer_card(lang, self.catalog.offers[hit.id], measure=hit.measure)
        else:
            reply = self.measure_card(lang, self.catalog.measures[hit.id])
        if len(hits) > 1:
            header = esc(_("Answer {n} of {total}").format(n=index + 1, total=len(hits)))
            reply.html = f"<i>{header}</i>\n" + reply.html
        if index + 1 < len(hits):
            reply.buttons.insert(0, [Button(_("More results"), f"R:{index + 1}")])
        return reply

    def safety_card(self, lang: str, topic: str, *, more: bool = False) -> Reply:
        _ = self._t(lang).gettext
        lines = safety_lines(self.catalog, _, lang, topic, more=more)
        rows = []
        psz = self.catalog.offers.get("psychosocial-centre")
        if psz is not None:
            t = pick_text(psz.texts, lang)
            rows.append([Button(t.title if t else psz.id, "o:psychosocial-centre")])
        rows.append(self._nav_row(lang))
        return Reply("\n".join(lines), rows, lang)

    def referral_card(self, lang: str, topic: str) -> Reply:
        lines, offers = referral_lines(self.catalog, self._t(lang).gettext, lang, topic)
        rows = []
        for offer_id in offers[:3]:
            ot = pick_text(self.catalog.offers[offer_id].texts, lang)
            rows.append([Button(ot.title if ot else offer_id, f"o:{offer_id}")])
        rows.append(self._nav_row(lang))
        return Reply("\n".join(lines), rows, lang)

    def no_match(self, lang: str) -> Reply:
        _ = self._t(lang).gettext
        lines = [
            esc(_("Sorry, I found no measure or offer that fits your question well.")),
            "",
            esc(_("General counselling can help with most questions:")),
        ]
        rows = []
        for offer_id in ("social-counselling",):
            o = self.catalog.offers.get(offer_id)
            if o is None:
                continue
            t = pick_text(o.texts, lang)
            lines.append(
                "• "
                + esc(t.title if t else offer_id)
                + " ("
                + esc(_("measure {number}").format(number=isolate(o.measures[0], lang)))
                + ")"
            )
            rows.append([Button(t.title if t else offer_id, f"o:{offer_id}")])
        lines.append(
            "• "
            + esc(
                _("the migration counselling (JMD/MBE) that the concept names in measure {number}").format(
                    number=isolate("2.1", lang)
                )
            )
        )
        lines += [
            "",
            esc(
                _(
                    "Tips: use simple words, name the topic (flat, work, school, German course, health), or choose from the topics."
                )
            ),
        ]
        rows.append(self._nav_row(lang))
        return Reply("\n".join(lines), rows, lang)

    # -- cards -------------------------------------------------------------------------------
    def _status_line(self, lang: str, status: Status | None) -> str:
        _ = self._t(lang).gettext
        if status is None:
            return esc(_("Status: no report yet."))
        label = self._status_label(lang, status.status)
        day = format_date(status.reported_at.astimezone(self.tz).date(), format="long", locale=lang)
        line = _("Status: {status}, last confirmed {date}.").format(status=label, date=isolate(day, lang))
        age = (self.clock() - status.reported_at).days
        if age > STALE_AFTER_DAYS:
            line += " " + _("Not confirmed for more than six months.")
        return esc(line)

    def _stage_and_status(self, lang: str, number: str) -> list[str]:
        """The measure's stage from the concept's wording, next to its reported status."""
        stage = stage_line(self._t(lang).gettext, self.catalog.stages.get(number))
        return ([stage] if stage else []) + [self._status_line(lang, self.catalog.status_of(number))]

    def _status_label(self, lang: str, status: str) -> str:
        return status_label(self._t(lang).gettext, status)

    def _responsible_lines(self, lang: str, m: MeasureView) -> list[str]:
        _ = self._t(lang).gettext
        names, partners = [], []
        for r in m.responsible:
            name = esc(r.as_printed)
            if r.partner:
                partners.append(name)
            else:
                names.append(name + (" (" + esc(_("lead")) + ")" if r.lead else ""))
        lines = ["<b>" + esc(_("Responsible:")) + "</b> " + "; ".join(names)]
        if partners:
            lines.append("<b>" + esc(_("In cooperation with:")) + "</b> " + "; ".join(partners))
        return lines

    def _contact_lines(self, lang: str, contact: dict[str, str]) -> list[str]:
        _ = self._t(lang).gettext
        if not contact:
            return [
                esc(
                    _(
                        "The concept publishes no contact details. Please ask the responsible body named above."
                    )
                )
            ]
        labels = {
            "phone": _("Phone"),
            "email": _("E-mail"),
            "address": _("Address"),
            "url": _("Web"),
            "hours": _("Opening hours"),
        }
        return [f"{esc(labels[k])}: {esc(isolate(v, lang))}" for k, v in contact.items()]

    def _machine_note(self, lang: str, machine: bool, outdated: bool = False) -> list[str]:
        _ = self._t(lang).gettext
        notes = []
        if machine:
            notes.append(
                "<i>" + esc(_("Plain-language text made by machine, not yet reviewed by a person.")) + "</i>"
            )
        if outdated:
            notes.append(
                "<i>"
                + esc(_("Outdated translation: the German text has changed since this was translated."))
                + "</i>"
            )
        return notes

    def measure_card(self, lang: str, m: MeasureView) -> Reply:
        _ = self._t(lang).gettext
        t = pick_text(m.texts, lang)
        num = isolate(m.printed_number, lang)
        lines = [
            "<b>" + esc(t.title if t else m.text_de) + "</b>",
            "<i>" + esc(_("Measure {number}").format(number=num)) + "</i>",
        ]
        if t:
            lines += [esc(t.summary), ""]
        lines += self._responsible_lines(lang, m)
        lines += self._stage_and_status(lang, m.number)
        if t:
            lines += self._machine_note(lang, t.machine, t.outdated)
        rows = [[Button(_("Official German text"), f"g:{m.number}")]]
        for offer_id in m.offers:
            ot = pick_text(self.catalog.offers[offer_id].texts, lang)
            rows.append([Button(ot.title if ot else offer_id, f"o:{offer_id}")])
        rows.append(self._vote_row("m", m.number))
        rows.append(self._nav_row(lang))
        return Reply("\n".join(lines), rows, lang)

    def offer_card(self, lang: str, o: OfferView, measure: str | None = None) -> Reply:
        _ = self._t(lang).gettext
        measure = measure or o.measures[0]
        m = self.catalog.measures[measure]
        t = pick_text(o.texts, lang)
        lines = [
            "<b>" + esc(t.title if t else o.id) + "</b>",
            "<i>"
            + esc(_("Offer for measure {number}").format(number=isolate(m.printed_number, lang)))
            + "</i>",
        ]
        if t:
            lines.append(esc(t.summary))
            if t.access:
                lines += ["", "<b>" + esc(_("How to get it:")) + "</b> " + esc(t.access)]
        providers = "; ".join(esc(org.name_de) for org, role in o.providers if role != "partner")
        partners = "; ".join(esc(org.name_de) for org, role in o.providers if role == "partner")
        if providers:
            lines += ["<b>" + esc(_("Offered by:")) + "</b> " + providers]
        if partners:
            lines += ["<b>" + esc(_("In cooperation with:")) + "</b> " + partners]
        lines += self._contact_lines(lang, o.contact)
        lines += self._stage_and_status(lang, m.number)
        if t:
            lines += self._machine_note(lang, t.machine, t.outdated)
        rows = [
            [
                Button(_("Official German text"), f"g:{m.number}"),
                Button(_("Measure {number}").format(number=m.number), f"m:{m.number}"),
            ]
        ]
        rows.append(self._vote_row("o", o.id))
        rows.append([Button(_("Main menu"), "M")])
        return Reply("\n".join(lines), rows, lang)

    def official_text(self, lang: str, m: MeasureView) -> Reply:
        _ = self._t(lang).gettext
        lines = [
            "<b>"
            + esc(
                _("Official German text of measure {number}").format(number=isolate(m.printed_number, lang))
            )
            + "</b>",
            "",
            "<i>" + esc(m.text_de) + "</i>",
            "",
            "<b>Verantwortlich:</b> " + esc(m.responsible_de),
            "",
            esc(_("Source: Integration concept of the City of Magdeburg from 2022 (Anlage 2 to DS0583/21).")),
        ]
        return Reply(
            "\n".join(lines),
            [[Button(_("Back to the measure"), f"m:{m.number}"), Button(_("Main menu"), "M")]],
            lang,
        )

    # -- commands ----------------------------------------------------------------------------
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

    def _paginate(
        self, lang: str, items: list, page: int, prefix: str
    ) -> tuple[list, int, list[list[Button]]]:
        """One page of ``items``, the page count, and the back/next row (``prefix`` + page)."""
        return paginate(self._t(lang).gettext, items, page, prefix)

    @staticmethod
    def _vote_row(entity: str, key: str) -> list[Button]:
        return [Button("👍", f"V:u:{entity}:{key}"), Button("👎", f"V:d:{entity}:{key}")]

    def _nav_row(self, lang: str) -> list[Button]:
        _ = self._t(lang).gettext
        return [Button(_("Topics"), "T"), Button(_("Main menu"), "M")]

    def _menu_row(self, lang: str) -> list[Button]:
        _ = self._t(lang).gettext
        return [Button(_("Main menu"), "M")]

    def _language_buttons(self, first: str) -> list[list[Button]]:
        """Always in the same order, so a number means the same language on every screen; the
        suggested or current language is marked instead of moved first."""
        buttons = [Button(("✓ " if c == first else "") + native_name(c), f"L:{c}") for c in self.languages]
        return [buttons[i : i + 2] for i in range(0, len(buttons), 2)]


def finish(replies: list[Reply]) -> list[Reply]:
    """The one place where right-to-left replies get Latin runs and numbers isolated."""
    for reply in replies:
        if is_rtl(reply.lang):
            reply.html = _isolate_html(reply.html)
            reply.buttons = [
                [Button(isolate_latin_runs(b.label), b.data) for b in row] for row in reply.buttons
            ]
    return replies


def issue_reply(
    newsletters: dict, translations: Translations, newsletter: str, texts: dict[str, str], lang: str
):
    """``Dialogue.newsletter_issue`` without a dialogue (the draft check measures it)."""
    _ = translations.get(lang).gettext
    n = newsletters.get(newsletter)
    head = "<b>" + esc(n.title(lang) if n else newsletter) + "</b>\n\n"
    if lang in texts:
        body = texts[lang]
    else:
        body = texts["de"]
        note = _("This issue is not available in your language. Here is the German text.")
        head += "<i>" + esc(note) + "</i>\n\n"
    [reply] = finish([Reply(head, [[Button(_("Unsubscribe"), f"U:{newsletter}")]], lang)])
    reply.html += body
    return reply


def button_number(text: str) -> int | None:
    """A number carried in button data (a page, a record id): ASCII digits only (``"²".isdigit()``
    is true but ``int("²")`` fails), short enough for the store's 64-bit integers; else None."""
    if text.isascii() and text.isdigit() and len(text) <= 18:
        return int(text)
    return None


def status_label(_, status: str) -> str:
    """A status value in words, through the gettext function ``_``."""
    return {
        "implemented": _("implemented"),
        "on_track": _("in progress, on track"),
        "delayed": _("in progress, delayed"),
        "not_started": _("not started"),
        "continuous": _("continuous task"),
        "dropped": _("dropped"),
    }.get(status, status)


def paginate(_, items: list, page: int, prefix: str) -> tuple[list, int, list[list[Button]]]:
    """One page of ``items``, the page count, and the back/next row (``prefix`` + page)."""
    pages = max(1, -(-len(items) // PAGE_SIZE))
    if not 0 <= page < pages:
        raise IndexError(page)
    nav = []
    if page > 0:
        nav.append(Button("\u2039 " + _("Back"), f"{prefix}{page - 1}"))
    if page + 1 < pages:
        nav.append(Button(_("Next") + " \u203a", f"{prefix}{page + 1}"))
    return items[page * PAGE_SIZE : (page + 1) * PAGE_SIZE], pages, [nav] if nav else []


_TAG_SPLIT = re.compile(r"(<[^>]*>)")


def _isolate_html(markup: str) -> str:
    """Isolate Latin runs and numbers in the text parts of our small HTML subset."""
    parts = _TAG_SPLIT.split(markup)
    for i in range(0, len(parts), 2):
        if parts[i]:
            parts[i] = esc(isolate_latin_runs(html.unescape(parts[i])))
    return "".join(parts)
