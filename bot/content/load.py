"""The concept as reviewed YAML (``data/``): loading. The checks that ``load_content`` runs, and
the comparison with the seed (``ankommen data check``), are in ``bot/content/validate.py``.

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

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from bot.languages import SUPPORTED_LANGUAGES
from bot.newsletters.definitions import FILE_NAME, path_in, read_entries

# libyaml's safe loader when PyYAML has it (10x faster at every start), else the pure-Python one
_SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
CONTACT_FIELDS = ("phone", "email", "address", "url", "hours")
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
    from bot.content.validate import validate  # it imports this module's types

    problems: list[Problem] = []
    content = Content(root=root)
    concept = root / "concept"
    _add_fields(content, _read_yaml(concept / "fields.yaml", problems, root) or [])
    content.measures = _read_yaml(concept / "measures.yaml", problems, root) or []
    content.organisations = _read_yaml(concept / "organisations.yaml", problems, root) or []
    content.offers = _read_yaml(concept / "offers.yaml", problems, root) or []
    _add_texts(content, root, problems)
    # The one reader of newsletters.yaml is bot/newsletters/definitions.py.
    content.newsletters = _read_yaml(path_in(root), problems, root, parse=read_entries) or []
    problems.extend(validate(content))
    problems.extend(validate_newsletters(content))
    return content, problems


def _add_fields(content: Content, raw_fields: list[dict[str, Any]]) -> None:
    """The fields, and their goals numbered per field across the goal groups."""
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


def _add_texts(content: Content, root: Path, problems: list[Problem]) -> None:
    """Every language folder under ``i18n/`` that ``bot/languages.py`` knows, and its texts."""
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
