"""The cards that say what the concept does not: the safety card, a referral and a measure's stage.

Transport-neutral like the rest of the dialogue: each function returns HTML text (every value
escaped) and buttons. Texts come from ``data/safety.yaml`` and ``data/referrals.yaml`` (in every
language, machine-made until reviewed) and from the gettext catalogs.
"""

from __future__ import annotations

import html
from datetime import date

from babel.dates import format_date

from bot.content.catalog import Catalog, pick_text
from bot.languages import isolate

STAGES = ("planned", "review", "continuing", "internal")


def esc(value: object) -> str:
    return html.escape(str(value), quote=False)


def _pick(texts: dict[str, str], lang: str) -> str:
    return texts.get(lang) or texts.get("en") or texts.get("de") or ""


def checked_line(_, day: date | None, lang: str) -> str:
    """'Checked on DATE', for a fact from outside the concept."""
    if day is None:
        return esc(_("Not yet checked against its source."))
    shown = format_date(day, format="long", locale=lang)
    return esc(_("Checked against its public source on {date}.").format(date=isolate(shown, lang)))


def safety_lines(catalog: Catalog, _, lang: str, topic: str, *, more: bool) -> list[str]:
    """The safety card: the topic's line, the numbers (the topic's first), what each is for,
    the concept's psychosocial centre (4.30), and when the numbers were checked."""
    safety = catalog.safety
    card = safety.card
    lead = _pick(safety.topics[topic].lead, lang) if topic in safety.topics else ""
    lines = ["<b>" + esc(_pick(card.get("heading", {}), lang)) + "</b>"]
    if lead:
        lines.append(esc(lead))
    lines.append("")
    contacts = safety.contacts_for(topic)
    for c in contacts:
        numbers = " / ".join(isolate(n, lang) for n in c.numbers)
        purpose = _pick(c.purpose, lang)
        lines.append(f"☎️ <b>{esc(numbers)}</b>: {esc(purpose)}")
    lines.append("")
    psz = _pick(card.get("psz", {}), lang)
    if psz:
        lines.append(esc(psz))
    day = safety.checked_on(contacts)
    template = _pick(card.get("checked", {}), lang)
    if day is not None and "{date}" in template:
        shown = format_date(day, format="long", locale=lang)
        lines.append("<i>" + esc(template.replace("{date}", isolate(shown, lang))) + "</i>")
    else:
        lines.append("<i>" + checked_line(_, day, lang) + "</i>")
    if more and card.get("more"):
        lines.append(esc(_pick(card["more"], lang)))
    return lines


def referral_lines(catalog: Catalog, _, lang: str, topic_id: str) -> tuple[list[str], list[str]]:
    """A referral card: the honest sentence, who helps (from the concept), the authority by name
    with its source's check date. Returns the lines and the offers to offer as buttons."""
    topic = catalog.referrals.topics[topic_id]
    t = pick_text(topic.texts, lang)
    lines = ["<b>" + esc(t.title if t else topic_id) + "</b>"]
    lines.append("<i>" + esc(_("Not covered by the integration concept")) + "</i>")
    if t:
        lines.append(esc(t.summary))
    offers: list[str] = []
    helpers = [topic.measure] if topic.measure else []
    helpers += [m for m in ("2.1", "7.2") if m not in helpers]
    who = []
    for number in helpers:
        m = catalog.measures.get(number)
        if m is None:
            continue
        mt = pick_text(m.texts, lang)
        who.append(
            esc(mt.title if mt else m.text_de)
            + " ("
            + esc(_("measure {number}").format(number=isolate(number, lang)))
            + ")"
        )
        offers += [o for o in m.offers if o not in offers]
    if who:
        lines += ["", "<b>" + esc(_("Who can help, according to the concept:")) + "</b>"]
        lines += ["• " + w for w in who]
    authority = catalog.referrals.authorities.get(topic.authority or "")
    if authority is not None:
        name = _pick(authority.names, lang) or authority.name_de
        lines += [
            "",
            "<b>" + esc(_("Responsible authority:")) + "</b> " + esc(name),
            "<i>" + checked_line(_, authority.checked, lang) + "</i>",
        ]
    lines.append(esc(_("The concept publishes no contact details. Please ask the counselling named above.")))
    if t and t.machine:
        lines.append(
            "<i>" + esc(_("Plain-language text made by machine, not yet reviewed by a person.")) + "</i>"
        )
    return lines, offers


def stage_line(_, stage: str | None) -> str | None:
    """What kind of measure this is, in the concept's own words, so a plan never looks open."""
    labels = {
        "planned": _("Stage: planned. The concept plans this; it is not yet something you can use."),
        "review": _("Stage: under review. The city is examining whether and how to do this."),
        "continuing": _("Stage: continuing. The concept says something that exists is to go on."),
        "internal": _("Stage: work inside the city administration. There is nothing to sign up for."),
    }
    label = labels.get(stage or "")
    return "<i>" + esc(label) + "</i>" if label else None
