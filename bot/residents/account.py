"""The residents' own data: language, privacy, erasure (/delete) and newsletter subscriptions.

A mixin of ``bot.residents.dialogue.Dialogue``. What is kept is the least: the chat id, the
language and the subscriptions (``/privacy`` says so); ``/delete`` erases all of it.
"""

from __future__ import annotations

from bot.chat.actor import language_chosen
from bot.chat.replies import Button, Reply, esc
from bot.languages import isolate
from bot.newsletters.render import issue_reply


class AccountScreens:
    def language_picker(self, user_id: int) -> list[Reply]:
        lang = self.language_of(user_id)
        _ = self._t(lang).gettext
        return [Reply(esc(_("Please choose your language.")), self._language_buttons(first=lang), lang)]

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
        language_chosen(user_id, None)
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
