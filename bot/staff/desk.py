"""The staff side of the conversation: linking, status prompts and answers, /mymeasures, /away.

Transport-neutral like ``bot.residents.dialogue``: (chat, input) -> replies. Button data starts with ``K`` (staff; see the namespace in ``bot.residents.dialogue``):

    K:s:<m>:<st>    choose a status for measure m (st: one letter, see STATUS_CODES)
    K:p:<m>:<pct>   set the progress (0, 25, 50, 75, 100)
    K:n:<m>         add a note (the next text message is the note)
    K:b:<m>         back to the confirmation (skip the note)
    K:y:<m>         save                         K:x:<m>   cancel
    K:c:<id>        correct saved report id      K:r:<m>   report on m now
    K:l:<page>      my measures

An answer in progress is a ``StatusDraft`` row, so a restart between the taps loses nothing.
Every button is checked again on arrival: the chat must be linked staff, the measure theirs
(or the person a coordinator), the draft must match the measure. Anything else is refused with
a short notice and logged as forged, without the data itself (it may be anything).
"""

from __future__ import annotations

import logging
import time as _time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from babel.dates import format_date, format_datetime
from babel.numbers import format_percent

from bot.content.catalog import Catalog, pick_text
from bot.i18n import Translations
from bot.models import STATUS_VALUES, StaffMember, StatusDraft, StatusReport, utcnow
from bot.residents.dialogue import Button, Reply, button_number, esc, finish, paginate, status_label
from bot.residents.scrub import strip_controls
from bot.staff.directory import StaffDirectory
from bot.staff.onboarding import LinkOutcome, looks_like_code
from bot.staff.records import MAX_NOTE
from bot.store.throttle import StoreThrottle

log = logging.getLogger(__name__)

STATUS_CODES = dict(zip("iodncx", STATUS_VALUES, strict=True))
CODE_OF = {v: k for k, v in STATUS_CODES.items()}
PROGRESS_STEPS = (0, 25, 50, 75, 100)
WRONG_CODES_PER_HOUR = 5
STAFF_COMMANDS = ("mymeasures", "away", "report")
CHATS_TTL = 60.0


@dataclass
class Linking:
    """What ``/start <code>`` did: the replies for this chat, the member it linked, and the chat
    the member was linked in before (another one) with the notice for it."""

    replies: list[Reply]
    member: StaffMember | None = None
    moved_from: int | None = None
    notice: list[Reply] = field(default_factory=list)


class StaffDesk:
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
        self._chats: set[int] = set()
        self._chats_at = -CHATS_TTL

    # -- routing helpers for the transport --------------------------------------------------
    def is_staff_chat(self, chat_id: int) -> bool:
        """Cheap check for every message: linked staff chats, re-read at most once a minute."""
        now = self.monotonic()
        if now - self._chats_at > CHATS_TTL:
            self._chats = self.directory.linked_chats()
            self._chats_at = now
        return chat_id in self._chats

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
            self._chats.add(chat_id)
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
            self._chats.discard(moved_from)
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
        if member.role == "coordinator":
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
    def command(self, chat_id: int, command: str, args: str, *, language: str = "de") -> list[Reply]:
        member = self.directory.by_chat(chat_id)
        if member is None:
            _ = self._gettext(language)
            return finish(
                [Reply(esc(_("This command is for staff members who have been invited.")), [], language)]
            )
        lang = member.language
        if command == "mymeasures":
            return finish([self.my_measures(member, 0)])
        if command == "away":
            return finish([self.away(member, args.strip())])
        if command == "report" and member.role != "coordinator":
            _ = self._gettext(lang)
            return finish([Reply(esc(_("Only coordinators can request the report.")), [], lang)])
        return []

    def my_measures(self, member: StaffMember, page: int) -> Reply:
        lang = member.language
        _ = self._gettext(lang)
        numbers = self.directory.measures_of(member, self.today())
        if not numbers:
            return Reply(esc(_("No measures are assigned to you yet. Please ask a coordinator.")), [], lang)
        items, pages, nav = paginate(_, numbers, page, "K:l:")
        statuses = self.catalog.all_statuses()
        heading = _("Your measures")
        lines = [f"<b>{esc(heading)}</b>"]
        for number in items:
            st = statuses.get(number)
            state = (
                _("{status}, {date}").format(
                    status=status_label(_, st.status), date=self._day(st.reported_at, lang)
                )
                if st
                else _("no report yet")
            )
            lines.append(f"• <b>{esc(number)}</b> {esc(self._title(number, lang))}: {esc(state)}")
        lines.append("")
        lines.append(esc(_("Tap a measure to report its status.")))
        rows = [[Button(n, f"K:r:{n}") for n in items[i : i + 4]] for i in range(0, len(items), 4)]
        return Reply("\n".join(lines), rows + nav, lang)

    def away(self, member: StaffMember, arg: str) -> Reply:
        lang = member.language
        _ = self._gettext(lang)
        if arg.lower() in ("off", "aus", "0"):
            self.directory.set_away(member.id, None)
            return Reply(esc(_("Welcome back: status requests come to you again.")), [], lang)
        try:
            until = date.fromisoformat(arg)
        except ValueError:
            until = None
        today = self.today()
        if until is None or until < today or until > today + timedelta(days=366):
            example = (today + timedelta(days=14)).isoformat()
            text = _(
                "Send /away followed by the last day of your absence, for example /away {example}. "
                "Send /away off when you are back."
            ).format(example=example)
            return Reply(esc(text), [], lang)
        self.directory.set_away(member.id, until)
        text = _("Noted: you are away until {date}.").format(
            date=format_date(until, format="long", locale=lang)
        )
        deputy = self.directory.get(member.deputy_id) if member.deputy_id else None
        if deputy is not None and deputy.chat_id is not None:
            text += " " + _("Your deputy gets your status requests meanwhile: {name}.").format(
                name=deputy.name
            )
        else:
            text += " " + _("No deputy is set, so your status requests wait until you are back.")
        return Reply(esc(text), [], lang)

    def report_captions(self, member: StaffMember) -> tuple[str, str]:
        """Captions for /report: the document, and the chart."""
        _ = self._gettext(member.language)
        day = format_date(self.today(), format="long", locale=member.language)
        return (
            _("Implementation report (measure 7.16), as of {date}.").format(date=day),
            _("Status of the measures per field of action."),
        )

    # -- prompts, reminders, escalations (rendered for the status loop) ---------------------------
    def prompt(
        self,
        recipient: StaffMember,
        measure: str,
        *,
        reminder: bool = False,
        standing_in_for: StaffMember | None = None,
        heading: str | None = None,
    ) -> Reply:
        lang = recipient.language
        _ = self._gettext(lang)
        lines = []
        if reminder:
            lines.append(
                "⏰ "
                + esc(_("Reminder: the status of measure {number} is still open.").format(number=measure))
            )
        if heading:
            lines.append(esc(heading))
        lines.append(
            "<b>"
            + esc(_("Status request for measure {number}").format(number=measure))
            + "</b>\n"
            + esc(self._title(measure, lang))
        )
        if standing_in_for is not None:
            lines.append(
                esc(
                    _("You get this request as the deputy of a colleague who is away: {name}.").format(
                        name=standing_in_for.name
                    )
                )
            )
        last = None if heading else self.catalog.status_of(measure)  # a correction shows no "last"
        if last is not None:
            status, day = status_label(_, last.status), self._day(last.reported_at, lang)
            lines.append(esc(_("Last report: {status}, {date}.").format(status=status, date=day)))
        elif heading is None:
            lines.append(esc(_("No status has been reported yet.")))
        lines.append(esc(_("Please choose the current status:")))
        buttons = [Button(status_label(_, v), f"K:s:{measure}:{CODE_OF[v]}") for v in STATUS_VALUES]
        rows = [buttons[i : i + 2] for i in range(0, len(buttons), 2)]
        return finish([Reply("\n\n".join(lines), rows, lang)])[0]

    def escalation(
        self, coordinator: StaffMember, items: list[tuple[str, StaffMember, datetime]], days: int
    ) -> Reply:
        lang = coordinator.language
        t = self.translations.get(lang)
        head = t.ngettext(
            "No status answer for {days} day:", "No status answer for {days} days:", days
        ).format(days=days)
        lines = [f"⚠️ <b>{esc(head)}</b>"]
        for number, member, asked in items:
            lines.append(
                "• "
                + esc(
                    t.gettext("{number} {title}: {name} ({organisation}), asked on {date}").format(
                        number=number,
                        title=self._title(number, lang),
                        name=member.name,
                        organisation=member.organisation,
                        date=self._day(asked, lang),
                    )
                )
            )
        return finish([Reply("\n".join(lines), [], lang)])[0]

    # -- buttons --------------------------------------------------------------------------------
    def button(self, chat_id: int, data: str) -> list[Reply]:
        member = self.directory.by_chat(chat_id)
        replies = self._button(member, data) if member is not None else None
        if replies is None:
            log.warning(
                "refused a staff button: %s",
                "unlinked chat" if member is None else "not permitted or malformed",
            )
            lang = member.language if member else "de"
            _ = self._gettext(lang)
            replies = [Reply(esc(_("You cannot report on this measure.")), [], lang, toast=True)]
        return finish(replies)

    def _button(self, member: StaffMember, data: str) -> list[Reply] | None:
        parts = data.split(":")
        if len(parts) < 3 or parts[0] != "K":
            return None
        kind, arg = parts[1], parts[2]
        number = button_number(arg)
        if kind == "l" and len(parts) == 3 and number is not None:
            try:
                return [self.my_measures(member, number)]
            except IndexError:
                return None
        if kind == "c" and len(parts) == 3 and number is not None:
            return self._correct(member, number)
        measure = arg
        today = self.today()
        if not self.directory.may_report(member, measure, today):
            return None
        if kind == "r" and len(parts) == 3:
            return [self.prompt(member, measure)]
        if kind == "s" and len(parts) == 4 and parts[3] in STATUS_CODES:
            draft = self.directory.draft(member.id)
            corrects = draft.corrects_id if draft and draft.measure_number == measure else None
            draft = StatusDraft(
                staff_id=member.id,
                measure_number=measure,
                status=STATUS_CODES[parts[3]],
                corrects_id=corrects,
            )
            return [self._confirm_screen(member, self.directory.save_draft(draft))]
        draft = self.directory.draft(member.id)
        if kind == "y" and len(parts) == 3 and (draft is None or draft.measure_number != measure):
            return self._already_saved(member, measure)  # a second tap on Save
        if draft is None or draft.measure_number != measure:
            return None
        if kind == "p" and len(parts) == 4 and button_number(parts[3]) in PROGRESS_STEPS:
            draft.progress = button_number(parts[3])
            draft.awaiting_note = False
            return [self._confirm_screen(member, self.directory.save_draft(draft))]
        if kind == "n" and len(parts) == 3:
            draft.awaiting_note = True
            self.directory.save_draft(draft)
            _ = self._gettext(member.language)
            text = _("Please type your note (at most {count} characters).").format(count=MAX_NOTE)
            return [Reply(esc(text), [[Button(_("Skip the note"), f"K:b:{measure}")]], member.language)]
        if kind == "b" and len(parts) == 3:
            draft.awaiting_note = False
            return [self._confirm_screen(member, self.directory.save_draft(draft))]
        if kind == "y" and len(parts) == 3:
            return [self._save(member, draft)]
        if kind == "x" and len(parts) == 3:
            self.directory.drop_draft(member.id)
            _ = self._gettext(member.language)
            return [Reply(esc(_("Cancelled. Nothing was saved.")), [], member.language)]
        return None

    def text(self, chat_id: int, text: str) -> list[Reply] | None:
        """A typed message from staff: the note of an answer in progress, else None (not ours)."""
        member = self.directory.by_chat(chat_id)
        if member is None:
            return None
        draft = self.directory.draft(member.id)
        if draft is None or not draft.awaiting_note:
            return None
        # No control characters (NUL, which PostgreSQL's text cannot hold, terminal escapes, bidi
        # overrides) in a note that reports and terminals print.
        note = " ".join(strip_controls(text).split())
        replies = []
        _ = self._gettext(member.language)
        if len(note) > MAX_NOTE:
            note = note[:MAX_NOTE]
            text = _("Your note was shortened to {count} characters.").format(count=MAX_NOTE)
            replies.append(Reply(esc(text), [], member.language))
        draft.note = note or None
        draft.awaiting_note = False
        replies.append(self._confirm_screen(member, self.directory.save_draft(draft)))
        return finish(replies)

    def _confirm_screen(self, member: StaffMember, draft: StatusDraft) -> Reply:
        lang = member.language
        _ = self._gettext(lang)
        m = draft.measure_number
        lines = [
            "<b>"
            + esc(_("Measure {number}: {status}").format(number=m, status=status_label(_, draft.status)))
            + "</b>"
        ]
        if draft.progress is not None:
            lines.append(
                esc(
                    _("Progress: {percent}").format(percent=format_percent(draft.progress / 100, locale=lang))
                )
            )
        if draft.note:
            lines.append(esc(_("Note: {note}").format(note=draft.note)))
        lines.append(esc(_("Add a progress figure or a note if you like, then save.")))
        progress = [
            Button(format_percent(p / 100, locale=lang), f"K:p:{m}:{p}")
            for p in PROGRESS_STEPS
            if p != draft.progress
        ]
        rows = [
            progress,
            [Button("📝 " + _("Add a note"), f"K:n:{m}")],
            [Button("✅ " + _("Save"), f"K:y:{m}"), Button(_("Cancel"), f"K:x:{m}")],
        ]
        return Reply("\n".join(lines), rows, lang)

    def _save(self, member: StaffMember, draft: StatusDraft) -> Reply:
        lang = member.language
        _ = self._gettext(lang)
        report = self.directory.record(
            member,
            draft.measure_number,
            draft.status,
            progress=draft.progress,
            note=draft.note,
            corrects_id=draft.corrects_id,
            now=self.clock(),
        )
        self.catalog.invalidate_statuses()
        log.info("status recorded for measure %s by staff %s", report.measure_number, member.id)
        text = (
            _("Saved. Thank you!")
            + "\n"
            + _("Measure {number}: {status}").format(
                number=report.measure_number, status=status_label(_, report.status)
            )
        )
        line, buttons = self._correction_offer(report, lang)
        if line:
            text += "\n" + line
        return Reply(esc(text), buttons, lang)

    def _correction_offer(self, report: StatusReport, lang: str) -> tuple[str, list[list[Button]]]:
        """The line and the button that offer to correct ``report``, while it may be corrected."""
        _ = self._gettext(lang)
        if self.correction <= timedelta(0) or self.clock() - report.reported_at > self.correction:
            return "", []
        until = format_datetime(
            (report.reported_at + self.correction).astimezone(self.tz), format="short", locale=lang
        )
        line = _("You can correct this answer until {time}.").format(time=until)
        return line, [[Button("✏️ " + _("Correct"), f"K:c:{report.id}")]]

    def _already_saved(self, member: StaffMember, measure: str) -> list[Reply] | None:
        """Save pressed again after the answer was saved (a double tap, an old screen): say so, and
        offer the correction. Refused (None) when the measure's latest report is not theirs."""
        latest = self.directory.latest(measure)
        if latest is None or latest.staff_id != member.id:
            return None
        lang = member.language
        _ = self._gettext(lang)
        lines = [
            _("This answer has already been saved."),
            _("Measure {number}: {status}").format(number=measure, status=status_label(_, latest.status)),
        ]
        line, buttons = self._correction_offer(latest, lang)
        if line:
            lines.append(line)
        return [Reply(esc("\n".join(lines)), buttons, lang)]

    def _correct(self, member: StaffMember, report_id: int) -> list[Reply] | None:
        report: StatusReport | None = self.directory.report_by_id(report_id)
        if report is None or (report.staff_id != member.id and member.role != "coordinator"):
            return None
        _ = self._gettext(member.language)
        latest = self.directory.latest(report.measure_number)
        if self.clock() - report.reported_at > self.correction or latest is None or latest.id != report.id:
            text = _("The time to correct this answer has passed. Please send a new report with /mymeasures.")
            return [Reply(esc(text), [], member.language, toast=True)]
        draft = StatusDraft(
            staff_id=member.id, measure_number=report.measure_number, status=report.status,
            progress=report.progress, note=report.note, corrects_id=report.id,
        )  # fmt: skip
        self.directory.save_draft(draft)
        heading = _("Correction of the report for measure {number}").format(number=report.measure_number)
        return [self.prompt(member, report.measure_number, heading=heading)]
