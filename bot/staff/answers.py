"""A status answer in taps: choose a status, the progress, a note, then save; corrections within
the correction window. A mixin of ``bot.staff.desk.StaffDesk``.

An answer in progress is a ``StatusDraft`` row, so a restart between the taps loses nothing.
Every button is checked again on arrival: the measure must be the member's (or the person a
coordinator), the draft must match the measure. Anything else is refused with a short notice
and logged as forged, without the data itself (it may be anything).
"""

from __future__ import annotations

import logging
from datetime import timedelta

from babel.dates import format_datetime
from babel.numbers import format_percent

from bot.chat.buttons import Press
from bot.chat.replies import Button, Reply, esc, finish, status_label
from bot.models import StaffMember, StatusDraft, StatusReport
from bot.residents.scrub import strip_controls
from bot.staff.codes import PROGRESS_STEPS, STATUS_CODES
from bot.staff.permissions import is_coordinator
from bot.staff.records import MAX_NOTE

log = logging.getLogger(__name__)


class StatusAnswers:
    # -- buttons --------------------------------------------------------------------------------
    def press(self, member: StaffMember | None, press: Press | None) -> list[Reply]:
        """A decoded staff button, for the member linked to the chat (None: not staff)."""
        replies = self._press(member, press) if member is not None and press is not None else None
        if replies is None:
            log.warning(
                "refused a staff button: %s", "unlinked chat" if member is None else "not permitted or stale"
            )
            lang = member.language if member else "de"
            _ = self._gettext(lang)
            replies = [Reply(esc(_("You cannot report on this measure.")), [], lang, toast=True)]
        return finish(replies)

    def _press(self, member: StaffMember, press: Press) -> list[Reply] | None:
        head, args = press.head, press.args
        if head == "K:l":
            try:
                return [self.my_measures(member, args[0])]
            except IndexError:
                return None
        if head == "K:c":
            return self._correct(member, args[0])
        measure = args[0]
        if not self.directory.may_report(member, measure, self.today()):
            return None
        if head == "K:r":
            return [self.prompt(member, measure)]
        if head == "K:s":
            return self._choose_status(member, measure, args[1])
        draft = self.directory.draft(member.id)
        if head == "K:y" and (draft is None or draft.measure_number != measure):
            return self._already_saved(member, measure)  # a second tap on Save
        if draft is None or draft.measure_number != measure:
            return None
        return self._edit_draft(member, draft, head, args)

    def _choose_status(self, member: StaffMember, measure: str, code: str) -> list[Reply] | None:
        if code not in STATUS_CODES:
            return None
        draft = self.directory.draft(member.id)
        corrects = draft.corrects_id if draft and draft.measure_number == measure else None
        draft = StatusDraft(
            staff_id=member.id, measure_number=measure, status=STATUS_CODES[code], corrects_id=corrects
        )
        return [self._confirm_screen(member, self.directory.save_draft(draft))]

    def _edit_draft(
        self, member: StaffMember, draft: StatusDraft, head: str, args: tuple
    ) -> list[Reply] | None:
        measure, lang = draft.measure_number, member.language
        _ = self._gettext(lang)
        if head == "K:p":
            if args[1] not in PROGRESS_STEPS:
                return None
            draft.progress, draft.awaiting_note = args[1], False
        elif head == "K:n":
            draft.awaiting_note = True
            self.directory.save_draft(draft)
            text = _("Please type your note (at most {count} characters).").format(count=MAX_NOTE)
            return [Reply(esc(text), [[Button(_("Skip the note"), f"K:b:{measure}")]], lang)]
        elif head == "K:b":
            draft.awaiting_note = False
        elif head == "K:y":
            return [self._save(member, draft)]
        elif head == "K:x":
            self.directory.drop_draft(member.id)
            return [Reply(esc(_("Cancelled. Nothing was saved.")), [], lang)]
        else:
            return None
        return [self._confirm_screen(member, self.directory.save_draft(draft))]

    def note(self, member: StaffMember | None, text: str) -> list[Reply] | None:
        """A typed message from staff: the note of an answer in progress, else None (not ours)."""
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
        if report is None or (report.staff_id != member.id and not is_coordinator(member)):
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
