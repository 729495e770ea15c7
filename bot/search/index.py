"""Search over measures and offers in every language at once.

Each document (a measure or an offer) is indexed from its plain-language title, keywords,
summary and access text in every language, plus the official German text and the names of the
responsible bodies. A query is normalised and split into tokens (``bot.search.text``); each token is
matched against the vocabulary by:

* exact match;
* compound parts: a vocabulary word that starts or ends the query token ("Mietwohnung" →
  "wohnung"), or a query token that starts a longer vocabulary word ("anerkenn" →
  "anerkennung"): a cheap stemmer that works in every language;
* transliteration: every Russian and Ukrainian word is indexed in Latin letters too
  ("kvartira", "dopomoha"), so a question typed on a Latin keyboard finds it;
* typos: rapidfuzz ``ratio`` over the vocabulary words that share the first letter, with a
  length-dependent cut-off.

A document's score sums, per query token, the best (similarity × field weight × idf). A hit must
reach ``threshold``; below it the answer is an honest "no match". An offer absorbs the measures it
belongs to, so one answer card does not appear twice (``bot.search.offers``: by groups of offers,
so a search does not slow down with the number of offers).
"""

from __future__ import annotations

import bisect
import heapq
import math
import os
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

from rapidfuzz import fuzz, process

from bot.search.offers import OfferGroups
from bot.search.text import ALL_STOPWORDS, STOPWORDS, detect_language, tokens, transliterate

# Field weights: where a word stands says how much it tells about the document.
W_TITLE = 3.0
W_KEYWORD = 3.0
W_PHRASE_WORD = 1.5  # a word inside a multi-word keyword ("heizung kaputt"): weaker alone
W_SUMMARY = 1.0
W_ACCESS = 0.6
W_OFFICIAL = 0.8
W_BODY = 0.8
W_TRANSLIT = 0.8  # a Cyrillic word's Latin transliteration

COVERAGE_TOKENS = 3
# How much of the question's information the best document must explain (see ``scores``).
MIN_COVERAGE = 0.25
# A document that explains less (but at least LOW_COVERAGE_SHARE of MIN_COVERAGE) still answers
# when its score is strong: many strong matches of a long question.
LOW_COVERAGE_SHARE = 0.5
STRONG_SCORE = 18.0
UNKNOWN_WEIGHT = 1.0  # the information of a word no document has, relative to the rarest word
UNKNOWN_SHORT_WEIGHT = 0.2  # ... of such a word of at most three letters
MAX_QUERY_CHARS = 500
MAX_QUERY_TOKENS = 40


@dataclass
class SearchDoc:
    kind: str  # "measure" | "offer" | "referral"
    id: str
    measures: tuple[str, ...]  # a measure has itself; an offer its linked measures, in order
    # (text, weight, language): stop words are dropped per the text's own language (None: all)
    weighted_texts: list[tuple[str, float, str | None]] = field(default_factory=list)


@dataclass(frozen=True)
class Hit:
    kind: str
    id: str
    measure: str
    score: float


class SearchIndex:
    def __init__(
        self,
        docs: Iterable[SearchDoc],
        *,
        threshold: float = 6.0,
        relative_cut: float = 0.25,
        min_coverage: float = MIN_COVERAGE,
    ):
        self.docs: list[SearchDoc] = list(docs)
        self.threshold = threshold
        self.min_coverage = min_coverage
        self.relative_cut = relative_cut
        raw: dict[str, dict[int, float]] = defaultdict(dict)
        native: set[str] = set()  # terms that occur as written, not only as a transliteration
        for i, doc in enumerate(self.docs):
            for text, weight, lang in doc.weighted_texts:
                stop = STOPWORDS.get(lang, ALL_STOPWORDS) if lang else ALL_STOPWORDS
                for tok in tokens(text):
                    if len(tok) < 2 or tok in stop or tok.isdigit():
                        continue
                    native.add(tok)
                    if raw[tok].get(i, 0.0) < weight:
                        raw[tok][i] = weight
                    # Russian and Ukrainian words are also findable in Latin letters.
                    latin = transliterate(tok, lang) if lang else None
                    if latin and raw[latin].get(i, 0.0) < weight * W_TRANSLIT:
                        raw[latin][i] = weight * W_TRANSLIT
        n = max(len(self.docs), 1)
        self.postings: dict[str, list[tuple[int, float]]] = {}
        self.idf: dict[str, float] = {}
        for term, per_doc in raw.items():
            idf = math.log(1.0 + n / len(per_doc))
            self.idf[term] = idf
            self.postings[term] = [(d, w * idf) for d, w in per_doc.items()]
        # A word no document knows carries the most information a word can: a question about
        # it is not explained by any document ("pizza", "Handyvertrag").
        self.unknown_idf = math.log(1.0 + n)
        self.sorted_terms: list[str] = sorted(self.postings)
        # Transliterations match whole words, by prefix or with typos, but are never read as
        # parts of a compound ("kasekuchen" must not find "uchen", Ukrainian учень).
        self.translit_only: frozenset[str] = frozenset(self.postings) - native
        by_first: dict[str, list[str]] = defaultdict(list)
        for term in self.sorted_terms:
            by_first[term[0]].append(term)
        self.by_first = dict(by_first)
        self.measure_doc: dict[str, int] = {d.id: i for i, d in enumerate(self.docs) if d.kind == "measure"}
        self.offers = OfferGroups(self.docs, self.measure_doc)
        self._cache: dict[str, tuple[tuple[str, float], ...]] = {}

    # -- matching one token ------------------------------------------------------------------
    def _candidates(self, tok: str, fuzzy: bool = True) -> tuple[tuple[str, float], ...]:
        key = tok if fuzzy else tok + "\0"
        cached = self._cache.get(key)
        if cached is not None:
            return cached
        found: dict[str, float] = {}

        def offer(term: str, sim: float) -> None:
            if sim > found.get(term, 0.0):
                found[term] = sim

        if tok in self.postings:
            offer(tok, 1.0)
        n = len(tok)
        if n >= 5:
            # Vocabulary word at the start or end of a compound query token.
            for k in range(4, n - 2):
                head, tail = tok[:k], tok[n - k :]
                if head in self.postings and head not in self.translit_only:
                    offer(head, 0.55 + 0.4 * k / n)
                if tail in self.postings and tail not in self.translit_only:
                    offer(tail, 0.5 + 0.4 * k / n)
        if n >= 5:
            # Query token as the start of a longer vocabulary word (a poor man's stemmer).
            lo = bisect.bisect_left(self.sorted_terms, tok)
            for term in self.sorted_terms[lo : lo + 40]:
                if not term.startswith(tok):
                    break
                offer(term, 0.6 + 0.4 * n / len(term))
        if n >= 5 and not tok.isascii():
            # Another ending of the same stem, for Cyrillic and Arabic-script words: query and
            # word share all but their last one to three letters ("обстрілів" / "обстріли").
            # (Latin-script words get this from the typo matching and the compound rules.)
            stem = tok[: max(4, n - 3)]
            lo = bisect.bisect_left(self.sorted_terms, stem)
            for term in self.sorted_terms[lo : lo + 40]:
                if not term.startswith(stem):
                    break
                if abs(len(term) - n) <= 3 and len(term) >= len(stem) + 1:
                    shared = len(os.path.commonprefix((tok, term)))
                    offer(term, 0.45 + 0.4 * shared / max(n, len(term)))
        if fuzzy and n >= 4 and tok[0] in self.by_first:
            cutoff = 80 if n >= 7 else 84
            for term, score, _ in process.extract(
                tok, self.by_first[tok[0]], scorer=fuzz.ratio, score_cutoff=cutoff, limit=6
            ):
                offer(term, 0.9 * score / 100.0)
        result = tuple(sorted(found.items(), key=lambda kv: -kv[1])[:8])
        if len(self._cache) > 50_000:
            self._cache.clear()
        self._cache[key] = result
        return result

    # -- querying ----------------------------------------------------------------------------
    def query_tokens(self, text: str, langs: Iterable[str | None] = ()) -> list[str]:
        """Content tokens: stop words of ``langs`` (the chosen and the detected language) dropped.

        Stop words are per language: Vietnamese "nữ" folds to "nu", a Romanian stop word, and
        Turkish "iş" to "is"; dropping every language's stop words would erase them.
        """
        known = [lang for lang in langs if lang in STOPWORDS]
        stop = frozenset().union(*(STOPWORDS[lang] for lang in known)) if known else ALL_STOPWORDS
        toks = [
            t for t in tokens(text[:MAX_QUERY_CHARS]) if len(t) >= 2 and t not in stop and not t.isdigit()
        ]
        seen: set[str] = set()
        unique = [t for t in toks if not (t in seen or seen.add(t))]
        return unique[:MAX_QUERY_TOKENS]

    def explain(self, text: str, lang: str | None = None) -> tuple[dict[int, float], dict[int, float]]:
        """Per document, its score and how much of the question it explains.

        **Score:** the sum of its best match per query token (similarity x field weight x idf),
        scaled by the square root of how many of the query's first ``COVERAGE_TOKENS`` tokens it
        matches.

        **Explained share:** each query token carries information: the idf of the word it
        matches (a word in many documents, such as "Magdeburg", "Stadt" or "Beratung", carries
        little), or, for a word no document knows, the most a word can carry. A document
        explains a token by as much as it matches it (similarity x its field's weight relative
        to a title or keyword). The share is the explained information over all of it. A long
        question that collects small matches of generic words explains little; a question whose
        central word no document has ("Kindergeld", "Pizza") is not explained, however many
        other words match.
        """
        detected = detect_language(text[:MAX_QUERY_CHARS], hint=lang)
        query = self.query_tokens(text, (lang, detected))
        # Vietnamese syllables are short and dense: a one-letter "typo" is usually another word.
        fuzzy = detected != "vi"
        totals: dict[int, float] = defaultdict(float)
        matched: dict[int, int] = defaultdict(int)
        explained: dict[int, float] = defaultdict(float)
        information = 0.0
        for tok in query:
            best: dict[int, float] = {}
            share: dict[int, float] = {}
            info = 0.0
            for term, sim in self._candidates(tok, fuzzy):
                idf = self.idf[term]
                info = max(info, sim * idf + (1.0 - sim) * self.unknown_idf * UNKNOWN_WEIGHT)
                for d, w in self.postings[term]:
                    v = sim * w
                    if v > best.get(d, 0.0):
                        best[d] = v
                    e = sim * min(1.0, w / (idf * W_TITLE))
                    if e > share.get(d, 0.0):
                        share[d] = e
            if not best:
                # Unknown: a long word is likely the question's topic, a short one filler
                # (dialect particles, chat spellings).
                info = self.unknown_idf * (UNKNOWN_WEIGHT if len(tok) >= 4 else UNKNOWN_SHORT_WEIGHT)
            information += info
            for d, v in best.items():
                totals[d] += v
                matched[d] += 1
                explained[d] += info * share[d]
        n = max(min(len(query), COVERAGE_TOKENS), 1)
        scores = {d: s * math.sqrt(min(1.0, matched[d] / n)) for d, s in totals.items()}
        coverage = {d: explained[d] / information for d in totals} if information else {}
        return scores, coverage

    def search(self, text: str, *, limit: int = 5, lang: str | None = None) -> list[Hit]:
        """The best hits above the confidence threshold, best first; [] when unsure.

        ``lang`` is the user's chosen language (a hint for detection and stop words).
        """
        totals, coverage = self.explain(text, lang)
        if not totals:
            return []
        final = self.offers.rank(totals, coverage, limit)
        # Only documents that explain enough of the question compete; the best of them must
        # also reach the threshold. Only the first ``limit`` can be shown: ``nsmallest`` gives
        # them in the order ``sorted`` would, without sorting thousands of offers.
        ranked = heapq.nsmallest(
            max(limit, 1),
            ((i, v) for i, v in final.items() if v[2] >= self.min_coverage * LOW_COVERAGE_SHARE),
            key=lambda kv: (-kv[1][0], kv[0]),
        )
        if not ranked or ranked[0][1][0] < self.threshold:
            return []
        top_score, _m, top_share = ranked[0][1]
        if top_share < self.min_coverage and top_score < STRONG_SCORE:
            return []
        floor = max(self.threshold, self.relative_cut * ranked[0][1][0])
        hits = []
        for i, (score, measure, _share) in ranked:
            if score < floor or len(hits) >= limit:
                break
            doc = self.docs[i]
            hits.append(Hit(kind=doc.kind, id=doc.id, measure=measure, score=round(score, 3)))
        return hits
