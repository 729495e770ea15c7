"""Safety first: messages about a crisis get the safety card before anything else.

``data/safety.yaml`` holds the national emergency and crisis numbers (facts from outside the
concept, each with its public source and the date it was checked), the card's texts in every
language, and per topic (suicide, self-harm, violence at home, a child in danger, a threat now, a
medical emergency) the phrases that signal it, the way people write them: colloquial, indirect,
with typos, in Arabizi, Finglish or transliterated Cyrillic.

Matching (folded tokens, word gaps, prefixes, typos, calm phrases, the looser cues) is in
``bot/residents/safety_match.py``; here are the data, the figures of speech and the choice of topic.

Nothing here stores or logs the message: the caller counts the topic, never the text.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import yaml

from bot.residents.safety_match import CueMatcher, Matcher, calm_patterns, crisis_patterns, cue_matcher
from bot.search.text import tokens

FIGURATIVE = frozenset({"threat_now", "suicide"})
_ARTICLES = frozenset({"die", "der", "das", "den", "dem"})
SAFETY_FILE = "safety.yaml"
CUES_FILE = "safety_cues.yaml"  # the looser layer: words of several groups close together
# When several topics match, the one that needs the fastest help names the card.
TOPIC_ORDER = ("threat_now", "medical", "suicide", "child_danger", "domestic_violence", "self_harm")


@dataclass(frozen=True)
class Contact:
    id: str
    numbers: tuple[str, ...]
    name_de: str
    free: bool
    always_open: bool
    interpreters: bool
    source: str
    checked: date
    checked_how: str
    purpose: dict[str, str]  # language -> what the number is for


@dataclass(frozen=True)
class Topic:
    id: str
    contacts: tuple[str, ...]
    lead: dict[str, str]


@dataclass(frozen=True)
class SafetyMatch:
    topic: str
    score: int  # how many patterns matched (all topics)


@dataclass
class Safety:
    contacts: dict[str, Contact] = field(default_factory=dict)
    topics: dict[str, Topic] = field(default_factory=dict)
    card: dict[str, dict[str, str]] = field(default_factory=dict)  # key -> language -> text
    _crisis: Matcher | None = None
    _calm: Matcher | None = None
    _cues: CueMatcher | None = None
    # Subjects that make a threat a figure of speech ("das Formular bringt mich um"): offices,
    # forms, paperwork. Only for the topics where people talk like that (threat, suicide).
    hyperbole: set[str] = field(default_factory=set)

    @classmethod
    def load(cls, data_dir: Path) -> Safety:
        path = Path(data_dir) / SAFETY_FILE
        if not path.exists():
            return cls()
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        cues_path = Path(data_dir) / CUES_FILE
        cues = yaml.safe_load(cues_path.read_text(encoding="utf-8")) or {} if cues_path.exists() else {}
        safety = cls.from_dict(raw, cues)
        # "The Jobcenter will kill me": an office named just before a threat is a figure of speech.
        glossary_path = Path(data_dir) / "glossary.yaml"
        if glossary_path.exists():
            glossary = yaml.safe_load(glossary_path.read_text(encoding="utf-8")) or {}
            for office in glossary.get("offices") or []:
                for names in (office.get("aliases") or {}).values():
                    for name in names or ():
                        folded = tokens(str(name))
                        if len(folded) == 1 and len(folded[0]) >= 4:
                            safety.hyperbole.add(folded[0])
        return safety

    @classmethod
    def from_dict(cls, raw: dict, cues: dict | None = None) -> Safety:
        contacts = {}
        for c in raw.get("contacts") or []:
            numbers = c.get("numbers") or [c.get("number")]
            contacts[c["id"]] = Contact(
                id=c["id"],
                numbers=tuple(str(n) for n in numbers if n),
                name_de=c.get("name_de", ""),
                free=bool(c.get("free")),
                always_open=bool(c.get("always_open")),
                interpreters=bool(c.get("interpreters")),
                source=c.get("source") or "",
                checked=as_date(c.get("checked")),
                checked_how=c.get("checked_how") or "",
                purpose=dict(c.get("for") or {}),
            )
        topics = {
            t["id"]: Topic(t["id"], tuple(t.get("contacts") or ()), dict(t.get("lead") or {}))
            for t in raw.get("topics") or []
        }
        crisis = Matcher(crisis_patterns(raw.get("topics") or []))
        calm = Matcher(calm_patterns(raw.get("calm") or {}))
        return cls(contacts, topics, dict(raw.get("card") or {}), crisis, calm, cue_matcher(cues or {}))

    def detect(self, text: str) -> SafetyMatch | None:
        """The crisis topic of ``text``, or None. Reads every language at once: people mix."""
        if self._crisis is None:
            return None
        toks = tokens(text)
        if not toks:
            return None
        if self._calm is not None:
            for _p, i, j in self._calm.find(toks):
                for k in range(i, j + 1):
                    toks[k] = "\0"
        # A German article before an office ("I want to go to die Ausländerbehörde") is no "die".
        toks = [
            "\0" if t in _ARTICLES and k + 1 < len(toks) and toks[k + 1] in self.hyperbole else t
            for k, t in enumerate(toks)
        ]
        found = [
            p.topic
            for p, i, _j in self._crisis.find(toks)
            if not (p.topic in FIGURATIVE and any(t in self.hyperbole for t in toks[max(0, i - 3) : i]))
        ]
        if self._cues is not None:
            found += [c.topic for c in self._cues.find(toks)]
        if not found:
            return None
        counts: dict[str, int] = {}
        for topic in found:
            counts[topic] = counts.get(topic, 0) + 1
        top = max(counts.values())
        order = {t: n for n, t in enumerate(TOPIC_ORDER)}
        topic = min((t for t, n in counts.items() if n == top), key=lambda t: order.get(t, 99))
        return SafetyMatch(topic, len(found))

    def contacts_for(self, topic: str) -> list[Contact]:
        """The topic's contacts first, in its order, then every other contact."""
        first = [self.contacts[c] for c in self.topics[topic].contacts if c in self.contacts]
        return first + [c for c in self.contacts.values() if c not in first]

    def checked_on(self, contacts: list[Contact]) -> date | None:
        """The oldest check date among ``contacts``: the card says when its numbers were checked."""
        return min((c.checked for c in contacts if c.checked), default=None)


def as_date(value) -> date | None:
    if value is None or isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        return None
