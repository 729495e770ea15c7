"""Safety first: messages about a crisis get the safety card before anything else.

``data/safety.yaml`` holds the national emergency and crisis numbers (facts from outside the
concept, each with its public source and the date it was checked), the card's texts in every
language, and per topic (suicide, self-harm, violence at home, a child in danger, a threat now, a
medical emergency) the phrases that signal it, the way people write them: colloquial, indirect,
with typos, in Arabizi, Finglish or transliterated Cyrillic.

Matching works on the folded tokens of ``bot.search.text`` (so accents, umlauts, Arabic letter variants
and case do not matter):

* a pattern is a sequence of words; it matches when its words occur in this order with at most
  ``GAP`` other words between them;
* a word ending in ``*`` matches every word it starts ("selbstmord*");
* a word of at least ``TYPO_MIN`` letters also matches a word one edit away (a typo);
* ``calm`` phrases ("zeit totschlagen", "killing time") are blanked out first, so the same words
  cannot set the card off.

Nothing here stores or logs the message: the caller counts the topic, never the text.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import yaml
from rapidfuzz.distance import Levenshtein

from bot.search.text import ALL_STOPWORDS, tokens

# Never optional in a pattern: they turn its meaning around.
NEGATIONS = frozenset(
    tokens(
        "nicht kein keine nie not no never dont cant не ні нет ні ma mish mush mesh la nie nu không khong nemi نمی نه لا ما مش"
    )
)

GAP = 2
FIGURATIVE = frozenset({"threat_now", "suicide"})
_ARTICLES = frozenset({"die", "der", "das", "den", "dem"})
TYPO_MIN = 6
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
class _Pattern:
    words: tuple[str, ...]  # folded; a trailing "*" marks a prefix
    topic: str | None  # None: a calm phrase
    # Words that may be left out ("muž bʹet [menja]"): stop words, when at least two other words
    # remain; a short pattern ("ne hochu zhit") keeps every word.
    optional: frozenset[int] = frozenset()


def _optional(words: tuple[str, ...]) -> frozenset[int]:
    """Stop words may be left out when at least two content words remain ("муж бьет [меня]");
    "ich kann nicht mehr" keeps every word: without "mehr" it is "ich kann nicht schlafen"."""
    skippable = {i for i, w in enumerate(words) if i > 0 and w in ALL_STOPWORDS and w not in NEGATIONS}
    content = [w for w in words if w not in ALL_STOPWORDS and w not in NEGATIONS]
    return frozenset(skippable) if len(content) >= 2 else frozenset()


def _fold_pattern(raw: str) -> tuple[str, ...]:
    words = []
    for part in str(raw).split():
        star = part.endswith("*")
        folded = tokens(part.rstrip("*"))
        if not folded:
            continue
        words.extend(folded[:-1])
        words.append(folded[-1] + ("*" if star else ""))
    return tuple(words)


class _Matcher:
    """Finds which patterns occur in a token list."""

    def __init__(self, patterns: list[_Pattern], *, typos: bool = True):
        self.patterns = [p for p in patterns if p.words]
        self.typos = typos
        self.exact: set[str] = set()
        self.prefixes: set[str] = set()
        for p in self.patterns:
            for w in p.words:
                (self.prefixes.add(w[:-1]) if w.endswith("*") else self.exact.add(w))
        self.long_words = [w for w in self.exact if len(w) >= TYPO_MIN]
        self.by_first: dict[str, list[_Pattern]] = {}
        for p in self.patterns:
            self.by_first.setdefault(p.words[0], []).append(p)
        self._cache: dict[str, frozenset[str]] = {}

    def _words_for(self, tok: str) -> frozenset[str]:
        """The pattern words (with their ``*``) that this query token matches."""
        hit = self._cache.get(tok)
        if hit is not None:
            return hit
        found = set()
        if tok in self.exact:
            found.add(tok)
        for k in range(2, len(tok) + 1):
            if tok[:k] in self.prefixes:
                found.add(tok[:k] + "*")
        if self.typos and len(tok) >= TYPO_MIN:
            for w in self.long_words:
                if (
                    abs(len(w) - len(tok)) <= 1
                    and w[0] == tok[0]
                    and Levenshtein.distance(w, tok, score_cutoff=1) <= 1
                ):
                    found.add(w)
        result = frozenset(found)
        if len(self._cache) > 20_000:
            self._cache.clear()
        self._cache[tok] = result
        return result

    def find(self, toks: list[str]) -> list[tuple[_Pattern, int, int]]:
        """(pattern, first index, last index) of every match."""
        sets = [self._words_for(t) for t in toks]
        out = []
        for i, words in enumerate(sets):
            for w in words:
                for p in self.by_first.get(w, ()):
                    end = self._rest(p, sets, i)
                    if end is not None:
                        out.append((p, i, end))
        return out

    @staticmethod
    def _rest(p: _Pattern, sets: list[frozenset[str]], start: int) -> int | None:
        pos = start
        for k, w in enumerate(p.words[1:], 1):
            for j in range(pos + 1, min(pos + 2 + GAP, len(sets))):
                if w in sets[j]:
                    pos = j
                    break
            else:
                if k in p.optional:
                    continue
                return None
        return pos


@dataclass
class _Cue:
    """A looser rule: a word of every group within ``window`` words, in any order."""

    topic: str
    groups: tuple[frozenset[str], ...]


class _CueMatcher:
    def __init__(self, cues: list[_Cue], window: int):
        self.cues = cues
        self.window = window
        words = sorted({w for c in cues for g in c.groups for w in g})
        # Exact words and prefixes only: cue words are short and many, so a typo of one is too
        # often another language's word ("brauch" / Polish "brzuch").
        self._vocab = _Matcher([_Pattern((w,), None) for w in words], typos=False)

    def find(self, toks: list[str]) -> list[_Cue]:
        sets = [self._vocab._words_for(t) for t in toks]
        out = []
        for cue in self.cues:
            places = [[i for i, ws in enumerate(sets) if ws & g] for g in cue.groups]
            if not all(places):
                continue
            if any(
                all(any(abs(j - i) < self.window for j in others) for others in places[1:]) for i in places[0]
            ):
                out.append(cue)
        return out


def _fold_group(words) -> frozenset[str]:
    out = set()
    for w in words or ():
        folded = _fold_pattern(w)
        if len(folded) == 1:  # a group holds single words
            out.add(folded[0])
    return frozenset(out)


@dataclass
class Safety:
    contacts: dict[str, Contact] = field(default_factory=dict)
    topics: dict[str, Topic] = field(default_factory=dict)
    card: dict[str, dict[str, str]] = field(default_factory=dict)  # key -> language -> text
    _crisis: _Matcher | None = None
    _calm: _Matcher | None = None
    _cues: _CueMatcher | None = None
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
        topics, crisis, calm = {}, [], []
        for t in raw.get("topics") or []:
            topics[t["id"]] = Topic(t["id"], tuple(t.get("contacts") or ()), dict(t.get("lead") or {}))
            for lang, phrases in (t.get("patterns") or {}).items():
                for p in phrases or ():
                    words = _fold_pattern(p)
                    # Vietnamese syllables are words of their own: none is ever left out.
                    crisis.append(_Pattern(words, t["id"], frozenset() if lang == "vi" else _optional(words)))
        for phrases in (raw.get("calm") or {}).values():
            calm += [_Pattern(_fold_pattern(p), None) for p in phrases or ()]
        rules = []
        for section in ("cues", "more_cues", "more_cues_all", "more_cues_all_2"):
            for topic, per_lang in ((cues or {}).get(section) or {}).items():
                for lang_rules in (per_lang or {}).values():
                    for rule in lang_rules or ():
                        groups = tuple(_fold_group(g) for g in rule)
                        if len(groups) >= 2 and all(groups):
                            rules.append(_Cue(topic, groups))
        cue_matcher = _CueMatcher(rules, int((cues or {}).get("window") or 8)) if rules else None
        return cls(
            contacts, topics, dict(raw.get("card") or {}), _Matcher(crisis), _Matcher(calm), cue_matcher
        )

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
