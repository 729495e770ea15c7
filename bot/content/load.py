"""The concept as reviewed YAML (``data/``): loading and validation (``ankommen data check``).

Layout::

    data/concept/fields.yaml         the 7 fields and their goals, German verbatim
    data/concept/measures.yaml       the 59 measures, German verbatim, with parsed responsible bodies
    data/concept/organisations.yaml  responsible bodies and partners; contact fields never invented
    data/concept/offers.yaml         offers for residents, tied to measures
    data/i18n/<lang>/fields.yaml     plain-language title, summary, keywords per field
    data/i18n/<lang>/measures.yaml   … per measure
    data/i18n/<lang>/offers.yaml     … per offer (plus ``access``)
    data/i18n/<lang>/goals.yaml      … per goal
    data/newsletters.yaml            the newsletters (1.24, 1.32): title and description per language

Adding a language is adding a folder ``data/i18n/<lang>/`` with those files.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from bot.content.seed import normalise_ws, parse_seed
from bot.languages import SUPPORTED_LANGUAGES
from bot.newsletters.definitions import FILE_NAME, path_in, read_entries

# libyaml's safe loader when PyYAML has it (10x faster at every start), else the pure-Python one
_SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
REQUIRED_LANGUAGES = ("de", "en")
OFFER_KINDS = {
    "counselling",
    "support",
    "newsletter",
    "course",
    "event",
    "initiative",
    "service",
    "information",
    "award",
    "jobs",
}
TARGET_GROUPS = {
    "everyone",
    "newcomers",
    "refugees",
    "families",
    "children",
    "pupils",
    "trainees",
    "young_people",
    "workers",
    "women",
    "seniors",
    "tenants",
    "associations",
}
CONTACT_FIELDS = ("phone", "email", "address", "url", "hours")
ORG_KINDS = {"administration", "council", "association", "company", "network", "group"}
_MEASURE_NUMBER = re.compile(r"^\d\.\d{1,2}$")
I18N_ENTITIES = {"fields": "field", "measures": "measure", "offers": "offer", "goals": "goal"}


@dataclass(frozen=True)
class Problem:
    file: str
    entry: str
    message: str

    def __str__(self) -> str:
        return f"{self.file}: {self.entry}: {self.message}"


class ContentError(Exception):
    def __init__(self, problems: list[Problem]):
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


@dataclass
class Content:
    """Everything in ``data/``, as plain dicts, in file order."""

    root: Path
    fields: list[dict[str, Any]] = field(default_factory=list)
    goals: list[dict[str, Any]] = field(default_factory=list)
    measures: list[dict[str, Any]] = field(default_factory=list)
    organisations: list[dict[str, Any]] = field(default_factory=list)
    offers: list[dict[str, Any]] = field(default_factory=list)
    # (entity, key, lang) -> {"title", "summary", "access", "keywords", "machine"}
    texts: dict[tuple[str, str, str], dict[str, Any]] = field(default_factory=dict)
    languages: list[str] = field(default_factory=list)
    newsletters: list[dict[str, Any]] = field(default_factory=list)


def _read_yaml(
    path: Path, problems: list[Problem], root: Path, parse: Callable[[Path], Any] | None = None
) -> Any:
    """``path`` as YAML (or through ``parse``); a missing or malformed file is a problem."""
    rel = str(path.relative_to(root)) if path.is_relative_to(root) else str(path)
    try:
        if parse is not None:
            return parse(path)
        return yaml.load(path.read_text(encoding="utf-8"), Loader=_SAFE_LOADER)
    except FileNotFoundError:
        problems.append(Problem(rel, "-", "file is missing"))
    except yaml.YAMLError as exc:
        problems.append(Problem(rel, "-", f"not valid YAML: {exc}"))
    return None


def load_content(root: Path) -> tuple[Content, list[Problem]]:
    """Read ``data/`` and return the content plus every problem found (empty when valid)."""
    problems: list[Problem] = []
    content = Content(root=root)
    concept = root / "concept"

    raw_fields = _read_yaml(concept / "fields.yaml", problems, root) or []
    for f in raw_fields:
        content.fields.append({"number": f.get("number"), "title_de": f.get("title_de")})
        position = 0
        for group in f.get("goal_groups") or []:
            for g in group.get("goals") or []:
                position += 1
                content.goals.append(
                    {
                        "id": g.get("id"),
                        "field_number": f.get("number"),
                        "position": position,
                        "heading_de": group.get("heading_de"),
                        "text_de": g.get("text_de"),
                    }
                )
    content.measures = _read_yaml(concept / "measures.yaml", problems, root) or []
    content.organisations = _read_yaml(concept / "organisations.yaml", problems, root) or []
    content.offers = _read_yaml(concept / "offers.yaml", problems, root) or []

    i18n = root / "i18n"
    langs = sorted(p.name for p in i18n.iterdir() if p.is_dir()) if i18n.is_dir() else []
    for lang in langs:
        if lang not in SUPPORTED_LANGUAGES:
            problems.append(Problem(f"i18n/{lang}", "-", f"language {lang!r} is not in bot/languages.py"))
            continue
        content.languages.append(lang)
        for fname, entity in I18N_ENTITIES.items():
            path = i18n / lang / f"{fname}.yaml"
            doc = _read_yaml(path, problems, root)
            if doc is None:
                continue
            rel = f"i18n/{lang}/{fname}.yaml"
            if doc.get("language") != lang:
                problems.append(Problem(rel, "language", f"must say 'language: {lang}'"))
            for key, entry in (doc.get(fname) or {}).items():
                if not isinstance(entry, dict):
                    problems.append(Problem(rel, str(key), "entry must be a mapping"))
                    continue
                content.texts[(entity, str(key), lang)] = {
                    "title": entry.get("title"),
                    "summary": entry.get("summary") or "",
                    "access": entry.get("access"),
                    "keywords": [str(k) for k in entry.get("keywords") or []],
                    "machine": entry.get("machine", True) is not False,
                    "source_de": entry.get("source_de"),
                }
    # The one reader of newsletters.yaml is bot/newsletters/definitions.py.
    content.newsletters = _read_yaml(path_in(root), problems, root, parse=read_entries) or []
    problems.extend(validate(content))
    problems.extend(validate_newsletters(content))
    return content, problems


def validate(content: Content) -> list[Problem]:
    """Structural checks that name the file and the entry at fault."""
    p: list[Problem] = []
    FIELDS_FILE, MEASURES_FILE, ORGS_FILE, OFFERS_FILE = (
        "concept/fields.yaml",
        "concept/measures.yaml",
        "concept/organisations.yaml",
        "concept/offers.yaml",
    )
    field_numbers = [f["number"] for f in content.fields]
    if sorted(n for n in field_numbers if isinstance(n, int)) != list(range(1, 8)):
        p.append(
            Problem(FIELDS_FILE, "-", f"fields must be numbered 1 to 7 exactly once; found {field_numbers}")
        )
    for f in content.fields:
        if not f.get("title_de"):
            p.append(Problem(FIELDS_FILE, f"field {f['number']}", "title_de is missing"))
    seen: set[str] = set()
    for g in content.goals:
        if not g.get("id") or g["id"] in seen:
            p.append(Problem(FIELDS_FILE, f"goal {g.get('id')}", "goal id missing or duplicated"))
        seen.add(g.get("id"))
        if not g.get("text_de"):
            p.append(Problem(FIELDS_FILE, f"goal {g.get('id')}", "text_de is missing"))

    org_ids: set[str] = set()
    for o in content.organisations:
        oid = o.get("id")
        if not oid or oid in org_ids:
            p.append(Problem(ORGS_FILE, f"organisation {oid}", "id missing or duplicated"))
        org_ids.add(oid)
        if not o.get("name_de"):
            p.append(Problem(ORGS_FILE, f"organisation {oid}", "name_de is missing"))
        if o.get("kind") not in ORG_KINDS:
            p.append(Problem(ORGS_FILE, f"organisation {oid}", f"kind must be one of {sorted(ORG_KINDS)}"))
        p.extend(_check_contact(ORGS_FILE, f"organisation {oid}", o.get("contact")))
    for o in content.organisations:
        if o.get("parent") and o["parent"] not in org_ids:
            p.append(Problem(ORGS_FILE, f"organisation {o.get('id')}", f"unknown parent {o['parent']!r}"))

    numbers: set[str] = set()
    for m in content.measures:
        num = m.get("number")
        entry = f"measure {num}"
        if not isinstance(num, str) or not _MEASURE_NUMBER.match(num):
            p.append(Problem(MEASURES_FILE, entry, "number must be printed like '4.14' (a quoted string)"))
        elif num in numbers:
            p.append(Problem(MEASURES_FILE, entry, "duplicate measure number"))
        numbers.add(num)
        if m.get("field") not in field_numbers:
            p.append(
                Problem(MEASURES_FILE, entry, f"unknown field {m.get('field')!r} (a measure without a field)")
            )
        elif isinstance(num, str) and not num.startswith(f"{m['field']}."):
            p.append(Problem(MEASURES_FILE, entry, f"number does not belong to field {m['field']}"))
        for key in ("text_de", "responsible_de"):
            if not m.get(key):
                p.append(Problem(MEASURES_FILE, entry, f"{key} is missing"))
        resp = m.get("responsible") or []
        if not resp:
            p.append(Problem(MEASURES_FILE, entry, "responsible: no organisation parsed"))
        for r in resp:
            if r.get("org") not in org_ids:
                p.append(
                    Problem(MEASURES_FILE, entry, f"responsible names unknown organisation {r.get('org')!r}")
                )
            if not r.get("as_printed") or r["as_printed"] not in (m.get("responsible_de") or ""):
                p.append(
                    Problem(
                        MEASURES_FILE, entry, f"as_printed {r.get('as_printed')!r} is not in responsible_de"
                    )
                )
            if r.get("lead") and "federführend" not in (m.get("responsible_de") or ""):
                p.append(Problem(MEASURES_FILE, entry, "lead marked, but the concept says no 'federführend'"))

    offer_ids: set[str] = set()
    for o in content.offers:
        oid = o.get("id")
        entry = f"offer {oid}"
        if not oid or oid in offer_ids:
            p.append(Problem(OFFERS_FILE, entry, "id missing or duplicated"))
        offer_ids.add(oid)
        if not o.get("measures"):
            p.append(Problem(OFFERS_FILE, entry, "offer is linked to no measure"))
        for num in o.get("measures") or []:
            if num not in numbers:
                p.append(Problem(OFFERS_FILE, entry, f"points to missing measure {num!r}"))
        if o.get("kind") not in OFFER_KINDS:
            p.append(Problem(OFFERS_FILE, entry, f"kind must be one of {sorted(OFFER_KINDS)}"))
        bad = set(o.get("target_groups") or []) - TARGET_GROUPS
        if bad or not o.get("target_groups"):
            p.append(Problem(OFFERS_FILE, entry, f"target_groups must be some of {sorted(TARGET_GROUPS)}"))
        if not o.get("providers"):
            p.append(Problem(OFFERS_FILE, entry, "offer names no provider"))
        for prov in o.get("providers") or []:
            if prov.get("org") not in org_ids:
                p.append(
                    Problem(OFFERS_FILE, entry, f"provider names unknown organisation {prov.get('org')!r}")
                )
            if prov.get("role") not in ("provider", "partner"):
                p.append(Problem(OFFERS_FILE, entry, "provider role must be 'provider' or 'partner'"))
        p.extend(_check_contact(OFFERS_FILE, entry, o.get("contact")))

    goal_ids = {g["id"] for g in content.goals}
    known = {
        "field": {str(n) for n in field_numbers},
        "measure": numbers,
        "offer": offer_ids,
        "goal": goal_ids,
    }
    for (entity, key, lang), t in sorted(content.texts.items()):
        rel = f"i18n/{lang}/{entity}s.yaml"
        if key not in known[entity]:
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
            for key in sorted(known[entity]):
                if (entity, key, lang) not in content.texts:
                    p.append(Problem(f"i18n/{lang}/{entity}s.yaml", key, f"missing {entity} text"))
    for lang in REQUIRED_LANGUAGES:
        if lang not in content.languages:
            p.append(Problem(f"i18n/{lang}", "-", "required language is missing"))
    return p


def validate_newsletters(content: Content) -> list[Problem]:
    """Each newsletter is a measure with a newsletter offer, and has a text in every language."""
    p: list[Problem] = []
    file = FILE_NAME
    numbers = {m.get("number") for m in content.measures}
    offers = {o.get("id"): o for o in content.offers}
    seen: set[str] = set()
    for n in content.newsletters:
        nid = n.get("id") if isinstance(n, dict) else None
        entry = f"newsletter {nid}"
        if not isinstance(nid, str) or nid not in numbers or nid in seen:
            p.append(Problem(file, entry, "id must be a measure number (a quoted string), once"))
            continue
        seen.add(nid)
        offer = offers.get(n.get("offer"))
        if offer is None or offer.get("kind") != "newsletter" or nid not in (offer.get("measures") or []):
            p.append(Problem(file, entry, f"offer must be a newsletter offer of measure {nid}"))
        texts = n.get("texts") if isinstance(n.get("texts"), dict) else {}
        for lang in content.languages:
            t = texts.get(lang)
            if not isinstance(t, dict) or not t.get("title") or not t.get("description"):
                p.append(Problem(file, entry, f"missing title or description in {lang!r}"))
            elif t.get("machine") is not True and not t.get("reviewed_by"):
                p.append(Problem(file, entry, f"{lang!r}: mark machine: true or name reviewed_by"))
        for lang in set(texts) - set(content.languages):
            p.append(Problem(file, entry, f"text in {lang!r}, a language without content"))
    return p


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
    seed_numbers = []
    for sf in seed:
        mine = next((f for f in content.fields if f["number"] == sf.number), None)
        if mine is None or normalise_ws(mine["title_de"] or "") != normalise_ws(sf.title):
            p.append(Problem("concept/fields.yaml", f"field {sf.number}", "title differs from the seed"))
        seed_goals = [(g.heading, t) for g in sf.goal_groups for t in g.goals]
        my_goals = [(g["heading_de"], g["text_de"]) for g in content.goals if g["field_number"] == sf.number]
        if [(h and normalise_ws(h), normalise_ws(t)) for h, t in seed_goals] != [
            (h and normalise_ws(h), normalise_ws(t or "")) for h, t in my_goals
        ]:
            p.append(Problem("concept/fields.yaml", f"field {sf.number}", "goals differ from the seed"))
        for sm in sf.measures:
            seed_numbers.append(sm.number)
            mine = by_number.get(sm.number)
            entry = f"measure {sm.number}"
            if mine is None:
                p.append(Problem("concept/measures.yaml", entry, "missing (it is in the seed)"))
                continue
            if mine.get("field") != sf.number:
                p.append(Problem("concept/measures.yaml", entry, f"belongs to field {sf.number}"))
            if (mine.get("note") or None) != sm.note:
                p.append(Problem("concept/measures.yaml", entry, f"note must be {sm.note!r}"))
            if normalise_ws(mine.get("text_de") or "") != normalise_ws(sm.text):
                p.append(Problem("concept/measures.yaml", entry, "text_de differs from the seed"))
            if normalise_ws(mine.get("responsible_de") or "") != normalise_ws(sm.responsible):
                p.append(Problem("concept/measures.yaml", entry, "responsible_de differs from the seed"))
    for num in by_number:
        if num not in seed_numbers:
            p.append(Problem("concept/measures.yaml", f"measure {num}", "not in the seed"))
    for file, items in (
        ("concept/organisations.yaml", content.organisations),
        ("concept/offers.yaml", content.offers),
    ):
        for item in items:
            for key, value in (item.get("contact") or {}).items():
                if value and normalise_ws(str(value)) not in seed_text:
                    p.append(
                        Problem(file, str(item.get("id")), f"contact {key} {value!r} is not in the sources")
                    )
    return p
