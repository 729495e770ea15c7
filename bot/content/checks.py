"""``ankommen data check``, the parts that keep content honest beyond its structure.

* **Sources.** Every contact detail from outside the concept (the safety card's numbers, an
  authority a referral names) needs a public source (an http(s) address) and the date it was
  checked, no more than ``MAX_SOURCE_AGE_DAYS`` ago.
* **One canonical text.** The German plain-language text is the source of every translation.
  Each translated entry records ``source_de``, a fingerprint of the German title, summary and
  access text it was made from. When the German changes, the translation is reported outdated
  (and the card marks it). ``ankommen data stamp`` records the fingerprints after a translator
  has brought the translations up to date.
* **No more than the source.** A translation must not say more than its German source: no
  more sentences, no number and no named body (an organisation of the concept, an office of
  the glossary) that the German lacks.
"""

from __future__ import annotations

import hashlib
import re
from datetime import date
from pathlib import Path

import yaml

from bot.content.load import Content, Problem
from bot.search.text import _DIGITS

MAX_SOURCE_AGE_DAYS = 366
_SENTENCE_END = re.compile(r"[.!?؟。]+(?=\s|$)")
_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")
_ABBREVIATIONS = re.compile(
    r"\b(?:z|u|d|e|o|bzw|ggf|ca|usw|Nr|vgl|St|e\. ?V|u\. ?a|z\. ?B|d\. ?h|etc|e\.g|i\.e|ul|str|Dr)\.", re.I
)


def fingerprint(entry: dict) -> str:
    """The fingerprint of a German entry's displayed text (title, summary, access)."""
    text = "\n".join(str(entry.get(k) or "") for k in ("title", "summary", "access"))
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def outdated(content: Content) -> list[tuple[str, str, str]]:
    """(entity, key, lang) of every translation whose German source has changed since."""
    out = []
    for (entity, key, lang), entry in content.texts.items():
        if lang == "de":
            continue
        de = content.texts.get((entity, key, "de"))
        if de is not None and entry.get("source_de") != fingerprint(de):
            out.append((entity, key, lang))
    return out


def sentences(text: str) -> int:
    text = _ABBREVIATIONS.sub("", text or "")
    return len([s for s in _SENTENCE_END.split(text) if s.strip()])


def named_bodies(content: Content, glossary: dict) -> list[str]:
    """Names of bodies that a translation must not add: the concept's organisations' names and
    short forms, and the glossary's offices (as they are written in German)."""
    names = set()
    for org in content.organisations:
        for key in ("name_de", "short"):
            value = org.get(key)
            if value and len(value) >= 3:
                names.add(value)
    for office in glossary.get("offices") or []:
        if office.get("name_de"):
            names.add(office["name_de"])
    return sorted(names, key=len, reverse=True)


def added_facts(content: Content, glossary: dict) -> list[Problem]:
    """Translations that say more than their German source."""
    problems = []
    bodies = named_bodies(content, glossary)
    for (entity, key, lang), entry in sorted(content.texts.items()):
        if lang == "de":
            continue
        de = content.texts.get((entity, key, "de"))
        if de is None:
            continue
        rel = f"i18n/{lang}/{entity}s.yaml"
        for part in ("summary", "access"):
            text, source = entry.get(part) or "", de.get(part) or ""
            if not text:
                continue
            if sentences(text) > sentences(source):
                problems.append(
                    Problem(
                        rel, key, f"{part}: {sentences(text)} sentences, the German has {sentences(source)}"
                    )
                )
            extra = sorted(set(_NUMBER.findall(text.translate(_DIGITS))) - set(_NUMBER.findall(source)))
            if extra:
                problems.append(Problem(rel, key, f"{part}: numbers the German lacks: {', '.join(extra)}"))
            for name in bodies:
                if name.lower() in text.lower() and name.lower() not in source.lower():
                    problems.append(Problem(rel, key, f"{part}: names {name!r}, which the German does not"))
    return problems


def sourced_facts(data_dir: Path, today: date) -> list[Problem]:
    """Every contact detail from outside the concept has a source and a recent check date."""
    problems = []
    for fname, section in (("safety.yaml", "contacts"), ("referrals.yaml", "authorities")):
        path = Path(data_dir) / fname
        if not path.exists():
            continue
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        for item in raw.get(section) or []:
            entry = str(item.get("id", "?"))
            source = str(item.get("source") or "")
            if not re.match(r"https?://\S+\.\S+", source):
                problems.append(Problem(fname, entry, "no public source (an http(s) address)"))
            checked = item.get("checked")
            if not isinstance(checked, date):
                try:
                    checked = date.fromisoformat(str(checked))
                except ValueError:
                    checked = None
            if checked is None:
                problems.append(Problem(fname, entry, "no date it was checked (checked: YYYY-MM-DD)"))
            elif checked > today:
                problems.append(Problem(fname, entry, f"checked on {checked}, which is in the future"))
            elif (today - checked).days > MAX_SOURCE_AGE_DAYS:
                problems.append(
                    Problem(fname, entry, f"checked on {checked}, more than 12 months ago: check it again")
                )
    return problems


def load_glossary(data_dir: Path) -> dict:
    path = Path(data_dir) / "glossary.yaml"
    return (yaml.safe_load(path.read_text(encoding="utf-8")) or {}) if path.exists() else {}


_ENTRY = re.compile(r'^  "?([^"\s:][^":]*)"?:\s*$')


def stamp(data_dir: Path, content: Content, langs: list[str] | None = None) -> int:
    """Record the current German fingerprint in every translated entry (of ``langs``); returns how
    many entries changed. Line-based, so the files keep their layout and comments."""
    changed = 0
    files = {"fields": "field", "measures": "measure", "offers": "offer", "goals": "goal"}
    for lang in content.languages:
        if lang == "de" or (langs and lang not in langs):
            continue
        for fname, entity in files.items():
            path = Path(data_dir) / "i18n" / lang / f"{fname}.yaml"
            if not path.exists():
                continue
            out, key = [], None
            for line in path.read_text(encoding="utf-8").splitlines():
                m = _ENTRY.match(line)
                if m:
                    key = m.group(1)
                if line.startswith("    source_de:"):
                    continue
                out.append(line)
                if line.startswith("    machine:") and key is not None:
                    de = content.texts.get((entity, key, "de"))
                    if de is not None:
                        new = fingerprint(de)
                        old = (content.texts.get((entity, key, lang)) or {}).get("source_de")
                        changed += old != new
                        out.append(f'    source_de: "{new}"')
            path.write_text("\n".join(out) + "\n", encoding="utf-8")
    return changed
