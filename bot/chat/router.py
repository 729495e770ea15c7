"""The one router: where every update goes, decided in one place for Telegram and the console.

An update arrives as an ``Inbound`` (a typed message, a pressed button, or anything else). The
router resolves its ``Actor`` once (``bot.chat.actor``), then sends it to one desk:

* ``/start <payload>``: a staff invitation (its own prefix, ``bot.staff.directory.CODE_PREFIX``)
  goes to the staff desk, which counts wrong codes; a resident's deep link (``m_4-14_ar``, from
  a poster's QR code: ``bot.residents.links``) opens a measure, an offer or a language, and is
  never counted against the invitation throttle; any other payload is a plain /start;
* the staff commands (``/mymeasures``, ``/away``, ``/report``) go to the staff desk, and
  ``/newsletter`` to the newsletter desk, in private chats; every other command and every
  question to the residents' dialogue;
* plain text is a coordinator's issue text while they compose, a staff member's note while an
  answer waits for it, and otherwise a question;
* a button is decoded once by the codec (``bot.chat.buttons``); its route names the desk.
  Personal routes are refused in groups, and in a private chat only the chat itself may press.

Permissions are decided here, from the actor: who is staff, who is a coordinator. The desks
then act for a member they are given. What only the transport can do (send a report file, set
a chat's command menu, tell another chat) comes back as effects beside the replies.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum

from bot.chat import buttons
from bot.chat.actor import Actor, Actors, PreferenceActors, acting
from bot.chat.replies import Reply


class Kind(StrEnum):
    TEXT = "text"
    BUTTON = "button"
    OTHER = "other"  # a sticker, photo, voice message, location …
    EDITED = "edited"


@dataclass(frozen=True)
class Command:
    name: str  # lower case, without the leading "/" and without "@BotName"
    args: str = ""
    addressee: str | None = None  # the bot named in "/help@AnkommenBot"


def parse_command(text: str) -> Command | None:
    """``/name[@bot] args`` -> a Command; None for anything that does not start with ``/``."""
    stripped = text.strip()
    if not stripped.startswith("/"):
        return None
    parts = stripped[1:].split(maxsplit=1)
    head = parts[0] if parts else ""
    name, _, addressee = head.partition("@")
    return Command(name.lower(), parts[1].strip() if len(parts) > 1 else "", addressee or None)


@dataclass(frozen=True)
class Inbound:
    chat_id: int
    kind: Kind
    text: str = ""  # the message text, or the button's data
    suggested: str | None = None  # the sender's app language (Telegram's language_code)
    private: bool = True
    presser: int | None = None  # who pressed a button
    command: Command | None = field(init=False, default=None)  # a typed command, parsed once

    def __post_init__(self) -> None:
        if self.kind is Kind.TEXT:
            object.__setattr__(self, "command", parse_command(self.text))


# -- effects: what the transport does beside sending the replies -------------------------------
@dataclass(frozen=True)
class SetCommands:
    """Set this chat's command menu (a staff member's: the residents' commands plus theirs)."""

    chat_id: int
    commands: list[tuple[str, str]]


@dataclass(frozen=True)
class Notify:
    """Send replies to another chat (the chat a staff link moved away from)."""

    chat_id: int
    replies: list[Reply]


@dataclass(frozen=True)
class ResetMenus:
    """Remove the staff command menus queued in the store (``MenuReset``)."""


@dataclass(frozen=True)
class SendFiles:
    """The implementation report for a coordinator: (kind, bytes, file name, caption) each."""

    chat_id: int
    files: list[tuple[str, bytes, str, str]]


Effect = SetCommands | Notify | ResetMenus | SendFiles


@dataclass
class Outcome:
    replies: list[Reply]
    effects: list[Effect] = field(default_factory=list)
    actor: Actor | None = None


class Conversation:
    """Routes one update to the residents' dialogue, the staff desk or the newsletter desk."""

    def __init__(self, dialogue, *, actors: Actors | None = None, staff=None, newsletters=None, report=None):
        self.dialogue = dialogue
        self.actors: Actors = actors or PreferenceActors(dialogue.prefs)
        self.staff = staff  # bot.staff.desk.StaffDesk, or None (no staff loop)
        self.newsletters = newsletters  # bot.newsletters.desk.NewsletterDesk, or None
        self.report: Callable[[], tuple[bytes, bytes]] | None = report

    def resolve(self, inbound: Inbound) -> Actor:
        """Who wrote: one store read (``bot/chat/actor.py``)."""
        return self.actors.resolve(inbound.chat_id, private=inbound.private)

    def handle(self, inbound: Inbound, actor: Actor | None = None) -> Outcome:
        """Resolve the actor (unless given), then route. The Telegram layer calls it on the
        event loop or in a worker thread (``handlers/frontend.py``)."""
        if actor is None:
            actor = self.resolve(inbound)
        with acting(actor):
            self.dialogue.remember_suggestion(inbound.chat_id, inbound.suggested)
            if inbound.kind is Kind.BUTTON:
                outcome = self._button(actor, inbound)
            elif inbound.kind is Kind.TEXT:
                outcome = self._text(actor, inbound)
            else:
                outcome = Outcome(
                    self.dialogue.unsupported(actor.chat_id, edited=inbound.kind is Kind.EDITED)
                )
        outcome.actor = actor
        return outcome

    # -- messages ----------------------------------------------------------------------------
    def _text(self, actor: Actor, inbound: Inbound) -> Outcome:
        command = inbound.command
        if command is not None:
            return self._command(actor, command, inbound)
        if actor.private and actor.composing and self.newsletters is not None:
            return Outcome(self.newsletters.issue_text(actor.member, actor.composing, inbound.text))
        if actor.private and actor.awaiting_note and self.staff is not None:
            replies = self.staff.note(actor.member, inbound.text)
            if replies is not None:
                return Outcome(replies)
        return Outcome(self.dialogue.ask_text(actor.chat_id, inbound.text))

    def _command(self, actor: Actor, command: Command, inbound: Inbound) -> Outcome:
        dialogue, chat_id = self.dialogue, actor.chat_id
        if command.name == "start":
            return self._start(actor, command.args, inbound.suggested)
        if actor.private and self.staff is not None and command.name in self.staff.COMMANDS:
            return self._staff_command(actor, command)
        if actor.private and self.newsletters is not None and command.name == "newsletter":
            if not actor.is_coordinator:
                return Outcome(self.newsletters.refusal(dialogue.language_of(chat_id)))
            return Outcome(self.newsletters.open(actor.member))
        return Outcome(dialogue.command(chat_id, command.name, private=actor.private))

    def _start(self, actor: Actor, payload: str, suggested: str | None) -> Outcome:
        dialogue, chat_id = self.dialogue, actor.chat_id
        if actor.private and self.staff is not None and self.staff.is_invitation(payload):
            linking = self.staff.link(chat_id, payload, language=dialogue.language_of(chat_id))
            effects: list[Effect] = []
            if linking.member is not None:
                menu = dialogue.command_menu(linking.member.language) + self.staff.command_menu(
                    linking.member
                )
                effects.append(SetCommands(chat_id, menu))
            if linking.moved_from is not None:
                effects += [Notify(linking.moved_from, linking.notice), ResetMenus()]
            return Outcome(linking.replies, effects)
        return Outcome(dialogue.open_link(chat_id, payload, suggested))

    def _staff_command(self, actor: Actor, command: Command) -> Outcome:
        staff = self.staff
        if actor.member is None:
            return Outcome(staff.not_staff(self.dialogue.language_of(actor.chat_id)))
        if command.name != "report":
            return Outcome(staff.run_command(actor.member, command.name, command.args))
        if not actor.is_coordinator or self.report is None:
            return Outcome(staff.coordinators_only(actor.member))
        html_bytes, png = self.report()
        day = staff.today().isoformat()
        doc, chart = staff.report_captions(actor.member)
        files = [
            ("document", html_bytes, f"umsetzungsbericht-{day}.html", doc),
            ("photo", png, f"umsetzungsstand-{day}.png", chart),
        ]
        return Outcome([], [SendFiles(actor.chat_id, files)])

    # -- buttons -----------------------------------------------------------------------------
    def _button(self, actor: Actor, inbound: Inbound) -> Outcome:
        dialogue, chat_id = self.dialogue, actor.chat_id
        if actor.private and inbound.presser is not None and inbound.presser != chat_id:
            return Outcome([dialogue.expired(dialogue.language_of(inbound.presser))])  # forged
        press = buttons.decode(inbound.text)
        if press is None:
            return Outcome([dialogue.expired(dialogue.language_of(chat_id))])
        if press.route.personal and not actor.private:
            return Outcome([dialogue.private_only(dialogue.language_of(chat_id), toast=True)])
        desk = press.route.desk
        if desk is buttons.Desk.STAFF and self.staff is not None:
            return Outcome(self.staff.press(actor.member, press))
        if desk is buttons.Desk.NEWSLETTERS and self.newsletters is not None:
            if not actor.is_coordinator:
                return Outcome(self.newsletters.refusal(dialogue.language_of(chat_id), toast=True))
            return Outcome(self.newsletters.press(actor.member, press))
        if desk is not buttons.Desk.RESIDENTS:
            return Outcome([dialogue.expired(dialogue.language_of(chat_id))])
        replies = dialogue.press(chat_id, press)
        erased = press.head == "D" and press.args == ("yes",) and self.staff is not None
        return Outcome(replies, [ResetMenus()] if erased else [])
