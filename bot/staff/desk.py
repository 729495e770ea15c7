"""The staff side of the conversation: linking, /mymeasures, /away, status requests and answers.

Transport-neutral like ``bot.residents.dialogue``: the router (``bot.chat.router``) resolves who
the chat is and passes the linked member in; buttons arrive decoded by the one codec
(``bot.chat.buttons``, the routes of desk ``staff``):

    K:s:<m>:<st>    choose a status for measure m (st: one letter, ``bot.staff.codes``)
    K:p:<m>:<pct>   set the progress (0, 25, 50, 75, 100)
    K:n:<m>         add a note (the next text message is the note)
    K:b:<m>         back to the confirmation (skip the note)
    K:y:<m>         save                         K:x:<m>   cancel
    K:c:<id>        correct saved report id      K:r:<m>   report on m now
    K:l:<page>      my measures

This class holds linking (``/start`` with an invitation) and the commands; its screens are in
``bot.staff.screens`` and the answer in taps in ``bot.staff.answers`` (mixins).
"""

from __future__ import annotations

import logging
import time as _time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from babel.dates import format_date

from bot.chat.actor import StoreActors
from bot.chat.buttons import decode
from bot.chat.replies import Reply, esc, finish
from bot.content.catalog import Catalog, pick_text
from bot.i18n import Translations
from bot.models import StaffMember, utcnow
from bot.staff.answers import StatusAnswers
from bot.staff.directory import StaffDirectory
from bot.staff.onboarding import LinkOutcome, looks_like_code
from bot.staff.permissions import is_coordinator
from bot.staff.screens import StaffScreens
from bot.store.throttle import StoreThrottle

log = logging.getLogger(__name__)

WRONG_CODES_PER_HOUR = 5
STAFF_COMMANDS = ("mymeasures", "away", "report")


@dataclass
class Linking:
    """What ``/start <code>`` did: the replies for this chat, the member it linked, and the chat
    the member was linked in before (another one) with the notice for it."""

    replies: list[Reply]
    member: StaffMember | None = None
    moved_from: int | None = None
    notice: list[Reply] = field(default_factory=list)


class StaffDesk(StaffScreens, StatusAnswers):
    def __init__(
        self,
        directory: StaffDirectory,
        catalog: Catalog,
        translations: Translations,
        *,
        timezone: str = "Europe/Berlin",
        correction_hours: int = 48,
        clock: Callable[[], datetime] = utcnow,
        monotonic: Callable[[], float] = _time.monotonic,
    ):
        self.directory = directory
        self.catalog = catalog
        self.translations = translations
        self.tz = ZoneInfo(timezone)
        self.correction = timedelta(hours=correction_hours)
        self.clock = clock
        self.monotonic = monotonic
        self.wrong_codes = StoreThrottle(
            directory.engine, "invite", WRONG_CODES_PER_HOUR, timedelta(hours=1), clock=clock
        )
        self.actors = StoreActors(directory.engine)

    def today(self) -> date:
        return self.clock().astimezone(self.tz).date()

    def _gettext(self, lang: str):
        return self.translations.get(lang).gettext

    def _title(self, number: str, lang: str) -> str:
        m = self.catalog.measures.get(number)
        text = pick_text(m.texts, lang) if m else None
        return text.title if text else number

    def _day(self, moment: datetime, lang: str) -> str:
        return format_date(moment.astimezone(self.tz).date(), format="long", locale=lang)

    # -- linking --------------------------------------------------------------------------------
    def start(self, chat_id: int, payload: str, *, language: str = "de") -> list[Reply]:
        """``/start <code>``: link this chat to a staff member, once per code (the replies only)."""
        return self.link(chat_id, payload, language=language).replies

    def link(self, chat_id: int, payload: str, *, language: str = "de") -> Linking:
        """``/start <code>``: link this chat to a staff member, once per code.

        The result also names the chat the person was linked in before, if another one, with the
        notice that chat gets: whoever used the code now holds the staff link, and the previous
        holder must learn of it (a stolen or forwarded link is otherwise a silent takeover)."""
        lang = language
        _ = self._gettext(lang)
        if not looks_like_code(payload):
            # Not an invitation (the transport sends such payloads to the resident's dialogue):
            # not counted as a wrong code.
            text = _(
                "This invitation code is not valid. Please check the link or ask a coordinator for a new one."
            )
            return Linking(finish([Reply(esc(text), [], lang)]))
        if self.wrong_codes.blocked(chat_id):
            return Linking(
                finish([Reply(esc(_("Too many wrong codes. Please wait an hour and try again.")), [], lang)])
            )
        outcome, member, moved_from = self.directory.link(chat_id, payload, now=self.clock())
        if outcome is LinkOutcome.LINKED:
            lang = member.language
            _ = self._gettext(lang)
            # Whole sentences, and the name and organisation as labelled lines: a sentence built
            # around them ("staff of {organisation}") reads wrong in most languages.
            lines = [
                _(
                    "Welcome! This chat is now linked to Ankommen for your work as staff. "
                    "Status requests for your measures will arrive here."
                ),
                _("Name: {name}").format(name=member.name),
                _("Organisation: {organisation}").format(organisation=member.organisation),
            ]
            text = esc("\n".join(lines)) + "\n\n" + esc(self._staff_help(lang))
            replies = finish([Reply(text, [], lang)])
            if moved_from is None:
                return Linking(replies, member)
            log.info("staff %s: the link moved to another chat; the previous chat is told", member.id)
            notice = _(
                "Your staff access to Ankommen has just been linked to another Telegram chat with an "
                "invitation link. This chat no longer gets status requests. If that was not you, "
                "please tell a coordinator at once."
            )
            return Linking(replies, member, moved_from, finish([Reply(esc(notice), [], lang)]))
        if outcome in (LinkOutcome.INVALID, LinkOutcome.USED, LinkOutcome.EXPIRED):
            self.wrong_codes.hit(chat_id)
        log.info("a staff invitation was refused: %s", outcome.value)
        text = {
            LinkOutcome.INVALID: _(
                "This invitation code is not valid. Please check the link or ask a coordinator for a new one."
            ),
            LinkOutcome.USED: _(
                "This invitation has already been used. Please ask a coordinator for a new one."
            ),
            LinkOutcome.EXPIRED: _("This invitation has expired. Please ask a coordinator for a new one."),
            LinkOutcome.TAKEN: _("This chat is already linked to another staff member."),
        }[outcome]
        return Linking(finish([Reply(esc(text), [], lang)]))

    def command_menu(self, member: StaffMember) -> list[tuple[str, str]]:
        """The commands staff get on top of the residents' menu (set for their chat only)."""
        _ = self._gettext(member.language)
        commands = [("mymeasures", _("My measures and their status")), ("away", _("Set or end an absence"))]
        if is_coordinator(member):
            commands += [
                ("report", _("The implementation report")),
                ("newsletter", _("Write a newsletter issue")),
            ]
        return commands

    def _staff_help(self, lang: str) -> str:
        _ = self._gettext(lang)
        return _(
            "/mymeasures lists your measures and lets you report at any time. "
            "/away sets an absence. Coordinators get the report with /report."
        )

    # -- commands -----------------------------------------------------------------------------
    COMMANDS = STAFF_COMMANDS

    @staticmethod
    def is_invitation(payload: str) -> bool:
        """Whether a /start payload is a staff invitation (its own prefix and length)."""
        return looks_like_code(payload)

    def not_staff(self, lang: str) -> list[Reply]:
        _ = self._gettext(lang)
        return finish([Reply(esc(_("This command is for staff members who have been invited.")), [], lang)])

    def coordinators_only(self, member: StaffMember) -> list[Reply]:
        _ = self._gettext(member.language)
        return finish([Reply(esc(_("Only coordinators can request the report.")), [], member.language)])

    def run_command(self, member: StaffMember, command: str, args: str) -> list[Reply]:
        """/mymeasures and /away for a linked member (the router checked who it is); anything
        else (/report for a member who is no coordinator) gets the coordinators-only line."""
        if command == "mymeasures":
            return finish([self.my_measures(member, 0)])
        if command == "away":
            return finish([self.away(member, args.strip())])
        return self.coordinators_only(member)

    def report_captions(self, member: StaffMember) -> tuple[str, str]:
        """Captions for /report: the document, and the chart."""
        _ = self._gettext(member.language)
        day = format_date(self.today(), format="long", locale=member.language)
        return (
            _("Implementation report (measure 7.16), as of {date}.").format(date=day),
            _("Status of the measures per field of action."),
        )

    # -- by chat id: the same desk for the CLI and tests, identity from the one resolver ---------
    def member_of(self, chat_id: int) -> StaffMember | None:
        return self.actors.resolve(chat_id).member

    def button(self, chat_id: int, data: str) -> list[Reply]:
        press = decode(data)
        member = self.member_of(chat_id) if press is not None and press.route.desk == "staff" else None
        return self.press(member, press)

    def text(self, chat_id: int, text: str) -> list[Reply] | None:
        return self.note(self.member_of(chat_id), text)

    def command(self, chat_id: int, command: str, args: str, *, language: str = "de") -> list[Reply]:
        """/mymeasures and /away by chat id (/report is the router's: it sends files)."""
        member = self.member_of(chat_id)
        return self.not_staff(language) if member is None else self.run_command(member, command, args)
