"""The residents' screens for browsing the concept: fields, goals, measures, offers, official texts.

A mixin of ``bot.residents.dialogue.Dialogue``: it uses the dialogue's catalog, translations and
clock. Every card shows the measure's stage and its implementation status with its age.
"""

from __future__ import annotations

from babel.dates import format_date
from babel.numbers import format_decimal

from bot.chat.replies import Button, Reply, esc, status_label
from bot.content.catalog import MeasureView, OfferView, Status, pick_text
from bot.languages import isolate
from bot.models import STALE_AFTER
from bot.residents.cards import stage_line


class BrowseScreens:
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

    # -- cards -------------------------------------------------------------------------------
    def _status_line(self, lang: str, status: Status | None) -> str:
        _ = self._t(lang).gettext
        if status is None:
            return esc(_("Status: no report yet."))
        label = self._status_label(lang, status.status)
        day = format_date(status.reported_at.astimezone(self.tz).date(), format="long", locale=lang)
        line = _("Status: {status}, last confirmed {date}.").format(status=label, date=isolate(day, lang))
        if self.clock() - status.reported_at > STALE_AFTER:
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
