"""How a message is matched against the phrases of ``data/safety.yaml`` (``bot.residents.safety``).

Matching works on the folded tokens of ``bot.search.text`` (so accents, umlauts, Arabic letter variants
and case do not matter):

* a pattern is a sequence of words; it matches when its words occur in this order with at most
  ``GAP`` other words between them;
* a word ending in ``*`` matches every word it starts ("selbstmord*");
* a word of at least ``TYPO_MIN`` letters also matches a word one edit away (a typo);
* ``calm`` phrases ("zeit totschlagen", "killing time") are blanked out first, so the same words
  cannot set the card off.

``safety_cues.yaml`` adds a looser layer (``CueMatcher``): a word of each of several groups, close
together in any order.
"""

from __future__ import annotations

from dataclasses import dataclass

from rapidfuzz.distance import Levenshtein

from bot.search.text import ALL_STOPWORDS, tokens

# Never optional in a pattern: they turn its meaning around.
NEGATIONS = frozenset(
    tokens(
        "nicht kein keine nie not no never dont cant не ні нет ні ma mish mush mesh la nie nu không khong nemi نمی نه لا ما مش"
    )
)

GAP = 2
TYPO_MIN = 6


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


class Matcher:
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


class CueMatcher:
    """Finds the cues whose every group has a word within ``window`` words of the others.

    An inverted index (word -> the cues and groups it belongs to) visits only the cues a
    message's words touch: a message meets a handful of the hundreds of cues, and scanning every
    cue for every message was most of an answer's time."""

    def __init__(self, cues: list[_Cue], window: int):
        self.cues = cues
        self.window = window
        words = sorted({w for c in cues for g in c.groups for w in g})
        # Exact words and prefixes only: cue words are short and many, so a typo of one is too
        # often another language's word ("brauch" / Polish "brzuch").
        self._vocab = Matcher([_Pattern((w,), None) for w in words], typos=False)
        self._postings: dict[str, list[tuple[int, int]]] = {}
        for ci, cue in enumerate(cues):
            for gi, group in enumerate(cue.groups):
                for w in group:
                    self._postings.setdefault(w, []).append((ci, gi))

    def find(self, toks: list[str]) -> list[_Cue]:
        places: dict[int, list[list[int]]] = {}  # cue -> per group, the token positions
        for i, t in enumerate(toks):
            seen: set[tuple[int, int]] = set()
            for w in self._vocab._words_for(t):
                for ci, gi in self._postings.get(w, ()):
                    if (ci, gi) in seen:
                        continue
                    seen.add((ci, gi))
                    per_group = places.get(ci)
                    if per_group is None:
                        per_group = places[ci] = [[] for _ in self.cues[ci].groups]
                    per_group[gi].append(i)
        out = []
        for ci in sorted(places):  # in the cues' own order
            first, *others = places[ci]
            if all(others) and first and self._near(first, others):
                out.append(self.cues[ci])
        return out

    def _near(self, first: list[int], others: list[list[int]]) -> bool:
        return any(all(any(abs(j - i) < self.window for j in o) for o in others) for i in first)


def _fold_group(words) -> frozenset[str]:
    out = set()
    for w in words or ():
        folded = _fold_pattern(w)
        if len(folded) == 1:  # a group holds single words
            out.add(folded[0])
    return frozenset(out)


def crisis_patterns(topics: list[dict]) -> list[_Pattern]:
    """The phrases of every topic of ``safety.yaml``, folded, in file order."""
    out = []
    for t in topics:
        for lang, phrases in (t.get("patterns") or {}).items():
            for p in phrases or ():
                words = _fold_pattern(p)
                # Vietnamese syllables are words of their own: none is ever left out.
                out.append(_Pattern(words, t["id"], frozenset() if lang == "vi" else _optional(words)))
    return out


def calm_patterns(calm: dict) -> list[_Pattern]:
    """The calm phrases of ``safety.yaml`` (per language), folded."""
    return [_Pattern(_fold_pattern(p), None) for phrases in calm.values() for p in phrases or ()]


CUE_SECTIONS = ("cues", "more_cues", "more_cues_all", "more_cues_all_2")


def cue_matcher(cues: dict) -> CueMatcher | None:
    """The rules of ``safety_cues.yaml`` with two groups or more, none empty (None if there are none)."""
    rules = []
    for section in CUE_SECTIONS:
        for topic, per_lang in (cues.get(section) or {}).items():
            for lang_rules in (per_lang or {}).values():
                for rule in lang_rules or ():
                    groups = tuple(_fold_group(g) for g in rule)
                    if len(groups) >= 2 and all(groups):
                        rules.append(_Cue(topic, groups))
    return CueMatcher(rules, int(cues.get("window") or 8)) if rules else None
