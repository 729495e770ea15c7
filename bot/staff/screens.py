"""The staff desk's screens: /mymeasures, /away, and the status requests, reminders and
escalations the status loop sends. A mixin of ``bot.staff.desk.StaffDesk``."""

from __future__ import annotations

import logging
from datetime import date, datetime, timedelta

from babel.dates import format_date

from bot.chat.paging import paginate
from bot.chat.replies import Button, Reply, esc, finish, status_label
from bot.models import STATUS_VALUES, StaffMember
from bot.staff.codes import CODE_OF

log = logging.getLogger(__name__)


class StaffScreens:
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
