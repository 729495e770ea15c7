"""Checks of the loaded ``data/`` (``ankommen data check``): one validator per entity, and the
comparison with the seed document.

``validate`` runs inside ``load_content``; every problem names the file and the entry at fault.
The validators run in file order (fields, goals, organisations, measures, offers, texts), so the
problems print in that order too. Cross-references (a measure's field, an offer's measures, a
text's key) are checked against the ids as loaded, duplicates and malformed ones included: a
duplicate is reported once, where it is declared, not again where it is used.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bot.content.load import CONTACT_FIELDS, Content, Problem
from bot.content.seed import SeedField, normalise_ws, parse_seed

REQUIRED_LANGUAGES = ("de", "en")
OFFER_KINDS = set(
    "counselling support newsletter course event initiative service information award jobs".split()
)
TARGET_GROUPS = set(
    "everyone newcomers refugees families children pupils trainees young_people workers women seniors "
    "tenants associations".split()
)
ORG_KINDS = {"administration", "council", "association", "company", "network", "group"}
_MEASURE_NUMBER = re.compile(r"^\d\.\d{1,2}$")

FIELDS_FILE = "concept/fields.yaml"
MEASURES_FILE = "concept/measures.yaml"
ORGS_FILE = "concept/organisations.yaml"
OFFERS_FILE = "concept/offers.yaml"


@dataclass(frozen=True)
class _Known:
    """The ids each entity declares, as loaded (the targets of cross-references)."""

    fields: list[Any]  # a list: a malformed number may be unhashable
    organisations: set[Any]
    measures: set[Any]
    offers: set[Any]
    goals: set[Any]

    @classmethod
    def of(cls, content: Content) -> _Known:
        return cls(
            fields=[f["number"] for f in content.fields],
            organisations={o.get("id") for o in content.organisations},
            measures={m.get("number") for m in content.measures},
            offers={o.get("id") for o in content.offers},
            goals={g["id"] for g in content.goals},
        )

    def text_keys(self) -> dict[str, set[Any]]:
        """Per entity, the keys its texts may have in ``data/i18n/<lang>/``."""
        return {
            "field": {str(n) for n in self.fields},
            "measure": self.measures,
            "offer": self.offers,
            "goal": self.goals,
        }


def validate(content: Content) -> list[Problem]:
    """Structural checks that name the file and the entry at fault."""
    known = _Known.of(content)
    return [
        *_fields(content),
        *_goals(content),
        *_organisations(content, known),
        *_measures(content, known),
        *_offers(content, known),
        *_texts(content, known),
        *_languages(content),
    ]


def _fields(content: Content) -> list[Problem]:
    p: list[Problem] = []
    field_numbers = [f["number"] for f in content.fields]
    if sorted(n for n in field_numbers if isinstance(n, int)) != list(range(1, 8)):
        p.append(
            Problem(FIELDS_FILE, "-", f"fields must be numbered 1 to 7 exactly once; found {field_numbers}")
        )
    for f in content.fields:
        if not f.get("title_de"):
            p.append(Problem(FIELDS_FILE, f"field {f['number']}", "title_de is missing"))
    return p


def _goals(content: Content) -> list[Problem]:
    p: list[Problem] = []
    seen: set[str] = set()
    for g in content.goals:
        if not g.get("id") or g["id"] in seen:
            p.append(Problem(FIELDS_FILE, f"goal {g.get('id')}", "goal id missing or duplicated"))
        seen.add(g.get("id"))
        if not g.get("text_de"):
            p.append(Problem(FIELDS_FILE, f"goal {g.get('id')}", "text_de is missing"))
    return p


def _organisations(content: Content, known: _Known) -> list[Problem]:
    p: list[Problem] = []
    seen: set[str] = set()
    for o in content.organisations:
        oid = o.get("id")
        if not oid or oid in seen:
            p.append(Problem(ORGS_FILE, f"organisation {oid}", "id missing or duplicated"))
        seen.add(oid)
        if not o.get("name_de"):
            p.append(Problem(ORGS_FILE, f"organisation {oid}", "name_de is missing"))
        if o.get("kind") not in ORG_KINDS:
            p.append(Problem(ORGS_FILE, f"organisation {oid}", f"kind must be one of {sorted(ORG_KINDS)}"))
        p.extend(_check_contact(ORGS_FILE, f"organisation {oid}", o.get("contact")))
    for o in content.organisations:
        if o.get("parent") and o["parent"] not in known.organisations:
            p.append(Problem(ORGS_FILE, f"organisation {o.get('id')}", f"unknown parent {o['parent']!r}"))
    return p


def _measures(content: Content, known: _Known) -> list[Problem]:
    p: list[Problem] = []
    seen: set[str] = set()
    for m in content.measures:
        num = m.get("number")
        entry = f"measure {num}"
        if not isinstance(num, str) or not _MEASURE_NUMBER.match(num):
            p.append(Problem(MEASURES_FILE, entry, "number must be printed like '4.14' (a quoted string)"))
        elif num in seen:
            p.append(Problem(MEASURES_FILE, entry, "duplicate measure number"))
        seen.add(num)
        if m.get("field") not in known.fields:
            p.append(
                Problem(MEASURES_FILE, entry, f"unknown field {m.get('field')!r} (a measure without a field)")
            )
        elif isinstance(num, str) and not num.startswith(f"{m['field']}."):
            p.append(Problem(MEASURES_FILE, entry, f"number does not belong to field {m['field']}"))
        for key in ("text_de", "responsible_de"):
            if not m.get(key):
                p.append(Problem(MEASURES_FILE, entry, f"{key} is missing"))
        p.extend(_responsible(m, entry, known))
    return p


def _responsible(m: dict[str, Any], entry: str, known: _Known) -> list[Problem]:
    """A measure's parsed responsible bodies: known, and printed as the concept prints them."""
    p: list[Problem] = []
    resp = m.get("responsible") or []
    if not resp:
        p.append(Problem(MEASURES_FILE, entry, "responsible: no organisation parsed"))
    printed = m.get("responsible_de") or ""
    for r in resp:
        if r.get("org") not in known.organisations:
            p.append(
                Problem(MEASURES_FILE, entry, f"responsible names unknown organisation {r.get('org')!r}")
            )
        if not r.get("as_printed") or r["as_printed"] not in printed:
            p.append(
                Problem(MEASURES_FILE, entry, f"as_printed {r.get('as_printed')!r} is not in responsible_de")
            )
        if r.get("lead") and "federführend" not in printed:
            p.append(Problem(MEASURES_FILE, entry, "lead marked, but the concept says no 'federführend'"))
    return p


def _offers(content: Content, known: _Known) -> list[Problem]:
    p: list[Problem] = []
    seen: set[str] = set()
    for o in content.offers:
        oid = o.get("id")
        entry = f"offer {oid}"
        if not oid or oid in seen:
            p.append(Problem(OFFERS_FILE, entry, "id missing or duplicated"))
        seen.add(oid)
        if not o.get("measures"):
            p.append(Problem(OFFERS_FILE, entry, "offer is linked to no measure"))
        for num in o.get("measures") or []:
            if num not in known.measures:
                p.append(Problem(OFFERS_FILE, entry, f"points to missing measure {num!r}"))
        if o.get("kind") not in OFFER_KINDS:
            p.append(Problem(OFFERS_FILE, entry, f"kind must be one of {sorted(OFFER_KINDS)}"))
        bad = set(o.get("target_groups") or []) - TARGET_GROUPS
        if bad or not o.get("target_groups"):
            p.append(Problem(OFFERS_FILE, entry, f"target_groups must be some of {sorted(TARGET_GROUPS)}"))
        p.extend(_providers(o, entry, known))
        p.extend(_check_contact(OFFERS_FILE, entry, o.get("contact")))
    return p


def _providers(o: dict[str, Any], entry: str, known: _Known) -> list[Problem]:
    p: list[Problem] = []
    if not o.get("providers"):
        p.append(Problem(OFFERS_FILE, entry, "offer names no provider"))
    for prov in o.get("providers") or []:
        if prov.get("org") not in known.organisations:
            p.append(Problem(OFFERS_FILE, entry, f"provider names unknown organisation {prov.get('org')!r}"))
        if prov.get("role") not in ("provider", "partner"):
            p.append(Problem(OFFERS_FILE, entry, "provider role must be 'provider' or 'partner'"))
    return p


def _texts(content: Content, known: _Known) -> list[Problem]:
    """Every text is complete and belongs to an entry; every entry has a text in every language."""
    p: list[Problem] = []
    keys = known.text_keys()
    for (entity, key, lang), t in sorted(content.texts.items()):
        rel = f"i18n/{lang}/{entity}s.yaml"
        if key not in keys[entity]:
            p.append(Problem(rel, key, f"unknown {entity} {key!r}"))
        if not t.get("title"):
            p.append(Problem(rel, key, "missing title"))
        if not (t.get("summary") or "").strip():
            p.append(Problem(rel, key, "missing summary"))
        if not t.get("keywords"):
            p.append(Problem(rel, key, "missing keywords"))
        if entity == "offer" and not t.get("access"):
            p.append(Problem(rel, key, "missing access (how a resident gets to the offer)"))
    for lang in content.languages:
        for entity in ("field", "goal", "measure", "offer"):
            for key in sorted(keys[entity]):
                if (entity, key, lang) not in content.texts:
                    p.append(Problem(f"i18n/{lang}/{entity}s.yaml", key, f"missing {entity} text"))
    return p


def _languages(content: Content) -> list[Problem]:
    return [
        Problem(f"i18n/{lang}", "-", "required language is missing")
        for lang in REQUIRED_LANGUAGES
        if lang not in content.languages
    ]


def _check_contact(file: str, entry: str, contact: Any) -> list[Problem]:
    if contact is None:
        return []
    if not isinstance(contact, dict) or set(contact) - set(CONTACT_FIELDS):
        return [Problem(file, entry, f"contact may only hold {', '.join(CONTACT_FIELDS)}")]
    return []


def check_against_seed(content: Content, seed_path: Path) -> list[Problem]:
    """Prove the reviewed YAML says what the seed says: numbers, texts, responsible, goals.

    Also refuses any contact detail that does not appear verbatim in the seed.
    """
    p: list[Problem] = []
    seed = parse_seed(seed_path)
    seed_text = normalise_ws(seed_path.read_text(encoding="utf-8").replace("\\*", "*"))
    by_number = {m["number"]: m for m in content.measures}
    for sf in seed:
        p.extend(_seed_field(content, sf, by_number))
    seed_numbers = [sm.number for sf in seed for sm in sf.measures]
    for num in by_number:
        if num not in seed_numbers:
            p.append(Problem(MEASURES_FILE, f"measure {num}", "not in the seed"))
    for file, items in ((ORGS_FILE, content.organisations), (OFFERS_FILE, content.offers)):
        for item in items:
            for key, value in (item.get("contact") or {}).items():
                if value and normalise_ws(str(value)) not in seed_text:
                    p.append(
                        Problem(file, str(item.get("id")), f"contact {key} {value!r} is not in the sources")
                    )
    return p


def _seed_field(content: Content, sf: SeedField, by_number: dict[str, dict[str, Any]]) -> list[Problem]:
    """One field of the seed: its title, its goals and its measures."""
    p: list[Problem] = []
    mine = next((f for f in content.fields if f["number"] == sf.number), None)
    if mine is None or normalise_ws(mine["title_de"] or "") != normalise_ws(sf.title):
        p.append(Problem(FIELDS_FILE, f"field {sf.number}", "title differs from the seed"))
    seed_goals = [(g.heading, t) for g in sf.goal_groups for t in g.goals]
    my_goals = [(g["heading_de"], g["text_de"]) for g in content.goals if g["field_number"] == sf.number]
    if [(h and normalise_ws(h), normalise_ws(t)) for h, t in seed_goals] != [
        (h and normalise_ws(h), normalise_ws(t or "")) for h, t in my_goals
    ]:
        p.append(Problem(FIELDS_FILE, f"field {sf.number}", "goals differ from the seed"))
    for sm in sf.measures:
        mine = by_number.get(sm.number)
        entry = f"measure {sm.number}"
        if mine is None:
            p.append(Problem(MEASURES_FILE, entry, "missing (it is in the seed)"))
            continue
        if mine.get("field") != sf.number:
            p.append(Problem(MEASURES_FILE, entry, f"belongs to field {sf.number}"))
        if (mine.get("note") or None) != sm.note:
            p.append(Problem(MEASURES_FILE, entry, f"note must be {sm.note!r}"))
        if normalise_ws(mine.get("text_de") or "") != normalise_ws(sm.text):
            p.append(Problem(MEASURES_FILE, entry, "text_de differs from the seed"))
        if normalise_ws(mine.get("responsible_de") or "") != normalise_ws(sm.responsible):
            p.append(Problem(MEASURES_FILE, entry, "responsible_de differs from the seed"))
    return p
