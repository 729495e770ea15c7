"""The transport-neutral conversation: (user, input) -> replies (HTML text + buttons).

The console chat and the Telegram handlers both drive it. Replies use the small HTML subset that
Telegram accepts (<b>, <i>); every inserted value is escaped here. Button data is a short,
versionless code of at most 64 bytes (Telegram's ``callback_data`` limit):

    L:[<lang>]      the language picker, or choose a language         M   main menu       A  ask a question
    T               topics (fields)            H   help
    F:<n>[:<page>]  a field's measures         m:<number>          a measure
    g:<number>      the official German text   o:<offer id>        an offer
    R:<index>       more results of the last question
"""

from __future__ import annotations

import html
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol
from zoneinfo import ZoneInfo

from babel.dates import format_date

from bot.catalog import Catalog, MeasureView, OfferView, Status, pick_text
from bot.i18n import Translations
from bot.languages import SUPPORTED_LANGUAGES, isolate, native_name, normalise_code
from bot.search import Hit
from bot.text import detect_language

CALLBACK_MAX_BYTES = 64
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
    html: str
    buttons: list[list[Button]] = field(default_factory=list)
    lang: str = "de"


class Preferences(Protocol):
    """Where a user's language is kept (memory for the console, the store for Telegram)."""

    def get_language(self, user_id: int) -> str | None: ...

    def set_language(self, user_id: int, lang: str) -> None: ...


class MemoryPreferences:
    def __init__(self) -> None:
        self._langs: dict[int, str] = {}

    def get_language(self, user_id: int) -> str | None:
        return self._langs.get(user_id)

    def set_language(self, user_id: int, lang: str) -> None:
        self._langs[user_id] = lang


@dataclass
class _Session:
    hits: list[Hit] = field(default_factory=list)


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
    ):
        self.catalog = catalog
        self.translations = translations
        self.prefs = prefs
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
        return self.prefs.get_language(user_id) or self.default_language

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
        lang = current or normalise_code(suggested) or self.default_language
        if lang not in self.languages:
            lang = self.default_language
        _ = self._t(lang).gettext
        text = _("Welcome to Ankommen, the integration guide of the City of Magdeburg.") + "\n\n"
        text += _("Please choose your language.")
        return [Reply(text, self._language_buttons(first=lang), lang)]

    def handle_text(self, user_id: int, text: str) -> list[Reply]:
        stripped = text.strip()
        if stripped.startswith("/"):
            command = stripped[1:].split(maxsplit=1)[0].split("@", 1)[0].lower() if len(stripped) > 1 else ""
            return self._command(user_id, command)
        return self.ask(user_id, stripped)

    def handle_button(self, user_id: int, data: str) -> list[Reply]:
        lang = self.language_of(user_id)
        kind, _, arg = data.partition(":")
        try:
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
        except (ValueError, KeyError, IndexError):
            pass
        return [self.expired(lang)]

    # -- screens -----------------------------------------------------------------------------
    def expired(self, lang: str) -> Reply:
        _ = self._t(lang).gettext
        return Reply(
            _("This button has expired. Please start again from the menu."), [self._menu_row(lang)], lang
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
            [Button(_("Language"), "L:"), Button(_("Help"), "H")],
        ]
        return [Reply(text, buttons, lang)]

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
            esc(_("Commands: /start, /topics, /language, /help")),
        ]
        return Reply("\n".join(lines), [self._menu_row(lang)], lang)

    def language_picker(self, user_id: int) -> list[Reply]:
        lang = self.language_of(user_id)
        _ = self._t(lang).gettext
        return [Reply(_("Please choose your language."), self._language_buttons(first=lang), lang)]

    def topics(self, lang: str) -> Reply:
        _ = self._t(lang).gettext
        rows = []
        for f in self.catalog.fields.values():
            t = pick_text(f.texts, lang)
            title = t.title if t else f.title_de
            rows.append([Button(f"{f.number}. {title}", f"F:{f.number}")])
        rows.append(self._menu_row(lang))
        return Reply("<b>" + esc(_("Topics")) + "</b>\n" + esc(_("Choose a field of action.")), rows, lang)

    def field_page(self, lang: str, number: int, page: int) -> Reply:
        _ = self._t(lang).gettext
        f = self.catalog.fields[number]
        measures = f.measures
        pages = max(1, -(-len(measures) // PAGE_SIZE))
        if not 0 <= page < pages:
            raise IndexError(page)
        t = pick_text(f.texts, lang)
        lines = ["<b>" + esc(t.title if t else f.title_de) + "</b>"]
        if t:
            lines.append(esc(t.summary))
        lines.append("")
        lines.append(esc(_("Page {page} of {pages}").format(page=page + 1, pages=pages)))
        rows = []
        for num in measures[page * PAGE_SIZE : (page + 1) * PAGE_SIZE]:
            m = self.catalog.measures[num]
            mt = pick_text(m.texts, lang)
            rows.append([Button(f"{m.number} · {mt.title if mt else m.text_de[:40]}", f"m:{num}")])
        nav = []
        if page > 0:
            nav.append(Button("\u2039 " + _("Back"), f"F:{number}:{page - 1}"))
        if page + 1 < pages:
            nav.append(Button(_("Next") + " \u203a", f"F:{number}:{page + 1}"))
        if nav:
            rows.append(nav)
        rows.append(self._nav_row(lang))
        return Reply("\n".join(lines), rows, lang)

    # -- questions ---------------------------------------------------------------------------
    def ask(self, user_id: int, text: str) -> list[Reply]:
        lang = self.language_of(user_id)
        _ = self._t(lang).gettext
        if not text:
            return [self._ask_prompt(lang)]
        text = text[:MAX_INPUT_CHARS]
        hits = self.catalog.index.search(text, limit=10)
        session = self._session(user_id)
        session.hits = hits
        replies: list[Reply] = []
        if not hits:
            replies.append(self.no_match(lang))
        else:
            replies.append(self._result(lang, hits, 0))
        detected = detect_language(text, hint=lang)
        if detected and detected != lang and detected in self.languages:
            dt = self._t(detected).gettext
            replies.append(
                Reply(
                    esc(
                        dt(
                            "Your question looks like {language}. Do you want to switch to {language}?"
                        ).format(language=native_name(detected))
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
        if hit.kind == "offer":
            reply = self.offer_card(lang, self.catalog.offers[hit.id], measure=hit.measure)
        else:
            reply = self.measure_card(lang, self.catalog.measures[hit.id])
        if len(hits) > 1:
            header = esc(_("Answer {n} of {total}").format(n=index + 1, total=len(hits)))
            reply.html = f"<i>{header}</i>\n" + reply.html
        if index + 1 < len(hits):
            reply.buttons.insert(0, [Button(_("More results"), f"R:{index + 1}")])
        return reply

    def no_match(self, lang: str) -> Reply:
        _ = self._t(lang).gettext
        lines = [
            esc(_("Sorry, I found no measure or offer that fits your question well.")),
            "",
            esc(_("General counselling can help with most questions:")),
        ]
        rows = []
        for offer_id in ("social-counselling", "housing-counselling"):
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
        age = (datetime.now(self.tz) - status.reported_at).days
        if age > STALE_AFTER_DAYS:
            line += " " + _("Not confirmed for more than six months.")
        return esc(line)

    def _status_label(self, lang: str, status: str) -> str:
        _ = self._t(lang).gettext
        return {
            "implemented": _("implemented"),
            "on_track": _("in progress, on track"),
            "delayed": _("in progress, delayed"),
            "not_started": _("not started"),
            "continuous": _("continuous task"),
            "dropped": _("dropped"),
        }.get(status, status)

    def _responsible_lines(self, lang: str, m: MeasureView) -> list[str]:
        _ = self._t(lang).gettext
        names = []
        for r in m.responsible:
            name = esc(r.as_printed)
            names.append(name + (" (" + esc(_("lead")) + ")" if r.lead else ""))
        return ["<b>" + esc(_("Responsible:")) + "</b> " + "; ".join(names)]

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

    def _machine_note(self, lang: str, machine: bool) -> list[str]:
        _ = self._t(lang).gettext
        return (
            ["<i>" + esc(_("Plain-language text made by machine, not yet reviewed by a person.")) + "</i>"]
            if machine
            else []
        )

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
        lines.append(self._status_line(lang, self.catalog.status_of(m.number)))
        if t:
            lines += self._machine_note(lang, t.machine)
        rows = [[Button(_("Official German text"), f"g:{m.number}")]]
        for offer_id in m.offers:
            ot = pick_text(self.catalog.offers[offer_id].texts, lang)
            rows.append([Button(ot.title if ot else offer_id, f"o:{offer_id}")])
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
        providers = "; ".join(esc(org.name_de) for org, _role in o.providers)
        lines += ["<b>" + esc(_("Offered by:")) + "</b> " + providers]
        lines += self._contact_lines(lang, o.contact)
        lines.append(self._status_line(lang, self.catalog.status_of(m.number)))
        if t:
            lines += self._machine_note(lang, t.machine)
        rows = [
            [
                Button(_("Official German text"), f"g:{m.number}"),
                Button(_("Measure {number}").format(number=m.number), f"m:{m.number}"),
            ]
        ]
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
        if command == "start":
            return self.start(user_id)
        if command in ("menu",):
            return self.menu(user_id)
        if command == "help":
            return [self.help(lang)]
        if command == "topics":
            return [self.topics(lang)]
        if command == "language":
            return self.language_picker(user_id)
        _ = self._t(lang).gettext
        return [Reply(esc(_("I do not know this command. Try /help.")), [self._menu_row(lang)], lang)]

    def _nav_row(self, lang: str) -> list[Button]:
        _ = self._t(lang).gettext
        return [Button(_("Topics"), "T"), Button(_("Main menu"), "M")]

    def _menu_row(self, lang: str) -> list[Button]:
        _ = self._t(lang).gettext
        return [Button(_("Main menu"), "M")]

    def _language_buttons(self, first: str) -> list[list[Button]]:
        codes = self.languages
        if first in codes:
            codes = [first] + [c for c in codes if c != first]
        buttons = [Button(native_name(c), f"L:{c}") for c in codes]
        return [buttons[i : i + 2] for i in range(0, len(buttons), 2)]
