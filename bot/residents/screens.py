"""The residents' fixed screens and notices: menu, help, the command list, hints and refusals.

A mixin of ``bot.residents.dialogue.Dialogue``, with the button rows the other screens share.
"""

from __future__ import annotations

from babel.numbers import format_decimal

from bot.chat.paging import paginate
from bot.chat.replies import Button, Reply, esc
from bot.languages import native_name, normalise_code


class CommonScreens:
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

    def apology(self, user_id: int, suggested: str | None = None, *, known: str | None = None) -> list[Reply]:
        """After an internal error: one line. ``known``: the language the update's actor had (no
        store read); else the store is tried (it may be the fault) and then the app's language."""
        lang = known
        if lang is None:
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

    @staticmethod
    def _vote_row(entity: str, key: str) -> list[Button]:
        return [Button("👍", f"V:u:{entity}:{key}"), Button("👎", f"V:d:{entity}:{key}")]

    def _paginate(
        self, lang: str, items: list, page: int, prefix: str
    ) -> tuple[list, int, list[list[Button]]]:
        """One page of ``items``, the page count, and the back/next row (``prefix`` + page)."""
        return paginate(self._t(lang).gettext, items, page, prefix)
