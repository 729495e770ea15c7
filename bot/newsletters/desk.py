"""``/newsletter`` for coordinators: compose, preview, confirm. Transport-neutral, like the dialogue.

A coordinator is a ``StaffMember`` with role ``coordinator`` and a linked ``chat_id``; everyone
else gets one short line and nothing changes. The flow:

1. ``/newsletter``: pick a newsletter (button ``W:n:<newsletter>``); held issues (overdue
   scheduled ones) are listed with a send button.
2. The next text message is the issue: German first, then ``# en``, ``# ar`` … lines before
   further languages (the draft-file format without front matter). It is checked like a draft
   file and stored as a ``draft``; a bad text gets the reason and may be sent again.
3. The bot shows the preview in the coordinator's language and asks to confirm: ``W:s:<id>``
   starts sending (the JobQueue tick delivers), ``W:x:<id>`` discards the draft.

A button acts only on an issue the bot showed to this coordinator: the draft they previewed, or
a held issue ``/newsletter`` listed to them (``ComposeState.offered``, in the store, so every
instance knows it). Forged data naming any other issue (a CLI draft nobody previewed here, an
issue being sent) gets "this button has expired" and changes nothing, and "Discard" discards
only a draft or a held issue, never one being sent. Refusals of buttons are toasts.

The composing state lives in the store (table ``newsletter_compose``): whichever instance takes
a coordinator's next message knows it.
"""

from __future__ import annotations

from zoneinfo import ZoneInfo

from babel.dates import format_datetime
from sqlalchemy.engine import Engine
from sqlmodel import Session, delete, select

from bot.chat.actor import StoreActors
from bot.chat.buttons import Press, decode
from bot.chat.replies import Button, Reply, esc, finish
from bot.languages import isolate
from bot.models import ComposeState, NewsletterIssue, StaffMember
from bot.newsletters.drafts import DraftError, build_draft
from bot.newsletters.issues import IssueError, create_issue, discard, start_sending
from bot.newsletters.stats import subscriber_count
from bot.residents.dialogue import Dialogue
from bot.store import db

MAX_OFFERED = 20  # issues a coordinator's buttons may act on at once (the newest)


class NewsletterDesk:
    def __init__(
        self,
        engine: Engine,
        dialogue: Dialogue,
        *,
        missing_language: str = "german",
        timezone: str = "Europe/Berlin",
    ):
        self.engine = engine
        self.dialogue = dialogue
        self.missing_language = missing_language
        self.tz = ZoneInfo(timezone)
        self.actors = StoreActors(engine)

    @property
    def newsletters(self):
        return self.dialogue.subscriptions.newsletters

    def _lang(self, member: StaffMember) -> str:
        lang = member.language
        return lang if lang in self.dialogue.languages else self.dialogue.default_language

    def refusal(self, lang: str, *, toast: bool = False) -> list[Reply]:
        """Everyone but a coordinator: one short line, and nothing changes."""
        _ = self.dialogue.translations.get(lang).gettext
        text = esc(_("Only coordinators can use this command."))
        return finish([Reply(text, [], lang, toast=toast)])

    # -- entry points --------------------------------------------------------------------------
    def open(self, member: StaffMember) -> list[Reply]:
        """/newsletter for a coordinator (the router checked the role): pick a newsletter; held
        issues are listed with a send button."""
        chat_id, lang = member.chat_id, self._lang(member)
        _ = self.dialogue.translations.get(lang).gettext
        rows = [[Button(n.title(lang), f"W:n:{n.id}")] for n in self.newsletters.values()]
        replies = [Reply(esc(_("Which newsletter do you want to write?")), rows, lang)]
        with Session(self.engine) as s:
            held = s.exec(
                select(NewsletterIssue.id, NewsletterIssue.scheduled_at)
                .where(NewsletterIssue.state == "held")
                .order_by(NewsletterIssue.id)
            ).all()
        for issue_id, at in held:
            when = format_datetime(at.astimezone(self.tz), format="short", locale=lang)
            text = _("Issue {id} was due at {time} and is on hold. Send it now?").format(
                id=isolate(str(issue_id), lang), time=isolate(when, lang)
            )
            replies.append(Reply(esc(text), self._confirm_row(lang, issue_id), lang))
        if held:
            self._offer(chat_id, [issue_id for issue_id, _at in held])
        return finish(replies)

    # -- by chat id: the same desk for tests and tools, identity from the one resolver ----------
    def _coordinator(self, chat_id: int) -> StaffMember | None:
        actor = self.actors.resolve(chat_id)
        return actor.member if actor.is_coordinator else None

    def refuse(self, chat_id: int, *, toast: bool = False) -> list[Reply]:
        return self.refusal(self.dialogue.language_of(chat_id), toast=toast)

    def command(self, chat_id: int) -> list[Reply]:
        member = self._coordinator(chat_id)
        return self.open(member) if member is not None else self.refuse(chat_id)

    def button(self, chat_id: int, data: str) -> list[Reply]:
        member, press = self._coordinator(chat_id), decode(data)
        if member is None:
            return self.refuse(chat_id, toast=True)
        if press is None or press.route.desk != "newsletters":
            return [self.dialogue.expired(self._lang(member))]
        return self.press(member, press)

    def text(self, chat_id: int, text: str) -> list[Reply]:
        member, newsletter = self._coordinator(chat_id), self._composing(chat_id)
        if member is None or newsletter is None:
            if member is None:
                self._forget(chat_id)
            return self.refuse(chat_id)
        return self.issue_text(member, newsletter, text)

    def is_composing(self, chat_id: int) -> bool:
        return self._composing(chat_id) is not None

    # The coordinator's desk lives in the store, so that whichever instance takes their next
    # message or button (webhook instances behind a load balancer) knows it.
    @db.retrying
    def _composing(self, chat_id: int) -> str | None:
        with Session(self.engine) as s:
            state = s.get(ComposeState, chat_id)
            return state.newsletter if state else None

    @db.retrying
    def _compose(self, chat_id: int, newsletter: str | None, *, offer: int | None = None) -> None:
        """Set the newsletter being composed (None: not composing); ``offer``: one more issue
        this coordinator's buttons may act on (the draft just previewed)."""
        with Session(self.engine) as s:
            state = s.get(ComposeState, chat_id)
            offered = list(state.offered or []) if state else []
            if offer is not None:
                offered = [i for i in offered if i != offer][-(MAX_OFFERED - 1) :] + [offer]
            if newsletter is None and not offered:
                s.exec(delete(ComposeState).where(ComposeState.chat_id == chat_id))
            elif state is None:
                s.add(ComposeState(chat_id=chat_id, newsletter=newsletter, offered=offered))
            else:
                state.newsletter, state.offered = newsletter, offered
                s.add(state)
            s.commit()

    @db.retrying
    def _offer(self, chat_id: int, issue_ids: list[int]) -> None:
        """The held issues just listed to this coordinator, with their send buttons."""
        with Session(self.engine) as s:
            state = s.get(ComposeState, chat_id) or ComposeState(chat_id=chat_id, offered=[])
            offered = [i for i in (state.offered or []) if i not in issue_ids] + issue_ids
            state.offered = offered[-MAX_OFFERED:]
            s.add(state)
            s.commit()

    @db.retrying
    def _take_offer(self, chat_id: int, issue_id: int) -> bool:
        """Whether the bot showed ``issue_id`` to this coordinator; it is then no longer offered
        (a second press finds nothing to do), in one transaction."""
        with Session(self.engine) as s:
            state = s.get(ComposeState, chat_id)
            if state is None or issue_id not in (state.offered or []):
                return False
            state.offered = [i for i in state.offered if i != issue_id]
            if state.newsletter is None and not state.offered:
                s.delete(state)
            else:
                s.add(state)
            s.commit()
            return True

    def press(self, member: StaffMember, press: Press) -> list[Reply]:
        """A decoded ``W:`` button of a coordinator (the router checked the role and the chat)."""
        chat_id, lang = member.chat_id, self._lang(member)
        _ = self.dialogue.translations.get(lang).gettext
        action, arg = press.head, press.args[0]
        if action == "W:n" and arg in self.newsletters:
            self._compose(chat_id, arg)
            text = _(
                "Send me the issue text. German comes first; put a line like # en before each other language."
            )
            return finish([Reply(esc(text), [], lang)])
        if action in ("W:s", "W:x") and self._take_offer(chat_id, arg):
            try:
                if action == "W:s":
                    start_sending(self.engine, arg, missing_language=self.missing_language)
                    text = _("Issue {id} is being sent.")
                else:
                    discard(self.engine, arg)
                    text = _("Issue {id} was discarded.")
            except IssueError:
                text = _("This issue can no longer be sent or discarded.")
            return finish([Reply(esc(text.format(id=isolate(str(arg), lang))), [], lang)])
        return [self.dialogue.expired(lang)]

    def issue_text(self, member: StaffMember, newsletter: str, text: str) -> list[Reply]:
        """The issue text of a coordinator who picked ``newsletter``."""
        chat_id, lang = member.chat_id, self._lang(member)
        _ = self.dialogue.translations.get(lang).gettext
        try:
            draft = build_draft(newsletter, text, self.newsletters, render=self._render)
        except DraftError as exc:
            reason = _("The text cannot be used: {reason}").format(reason=str(exc))
            return finish([Reply(esc(reason), [], lang)])
        issue_id = create_issue(self.engine, draft)
        self._compose(chat_id, None, offer=issue_id)
        count = subscriber_count(self.engine, newsletter)
        summary = _("Draft {id}, languages: {languages}. This is the preview:").format(
            id=isolate(str(issue_id), lang), languages=isolate(", ".join(draft.texts), lang)
        )
        preview = self.dialogue.newsletter_issue(newsletter, draft.texts, lang)
        preview.buttons = []
        confirm = (
            self.dialogue.translations.get(lang)
            .ngettext(
                "Send issue {id} to {count} subscriber now?",
                "Send issue {id} to {count} subscribers now?",
                count,
            )
            .format(id=isolate(str(issue_id), lang), count=isolate(str(count), lang))
        )
        return [
            *finish([Reply(esc(summary), [], lang)]),
            preview,
            *finish([Reply(esc(confirm), self._confirm_row(lang, issue_id), lang)]),
        ]

    @db.retrying
    def _forget(self, chat_id: int) -> None:
        with Session(self.engine) as s:
            s.exec(delete(ComposeState).where(ComposeState.chat_id == chat_id))
            s.commit()

    def _render(self, newsletter: str, texts: dict[str, str], lang: str) -> str:
        """The issue as a subscriber in ``lang`` gets it: what the draft check measures."""
        return self.dialogue.newsletter_issue(newsletter, texts, lang).html

    def _confirm_row(self, lang: str, issue_id: int) -> list[list[Button]]:
        _ = self.dialogue.translations.get(lang).gettext
        return [[Button(_("Send now"), f"W:s:{issue_id}"), Button(_("Discard"), f"W:x:{issue_id}")]]
