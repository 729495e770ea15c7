"""How offers absorb their measures, in time that does not grow with the number of offers.

An offer's score is the best of its own and its measures'; the measures it belongs to are then
not listed again. Done offer by offer, a question that matches a measure touches every offer of
that measure: with tens of thousands of offers, most of the time of a search went into offers
that had no word of the question and only inherited a measure's score.

Such offers are alike: an offer that did not score itself has exactly the score, measure and
explained share that its tuple of measures gives it. So offers are grouped by that tuple, and
what a group's measures give is worked out once per search. Of the members that did not score
themselves only the first ``limit`` (by document number) can be shown, because equal scores are
ordered by document number, so only they are ranked. Offers that scored themselves still get
their own entry, the best of their own score and their group's. The hits are the
same, to the last digit, as scoring every offer.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import Protocol

# doc -> (score, measure shown, explained share)
Ranked = dict[int, tuple[float, str, float]]


class _Doc(Protocol):
    kind: str
    id: str
    measures: tuple[str, ...]


class OfferGroups:
    def __init__(self, docs: Sequence[_Doc], measure_doc: dict[str, int]):
        self.docs = docs
        members: dict[tuple[str, ...], list[int]] = defaultdict(list)
        for i, d in enumerate(docs):
            if d.kind == "offer":
                members[d.measures].append(i)  # in document order
        # Per group: its measures as (number, measure document or None), in order; its offers.
        self.groups: list[tuple[tuple[tuple[str, int | None], ...], list[int]]] = [
            (tuple((num, measure_doc.get(num)) for num in measures), offers)
            for measures, offers in members.items()
        ]
        self.group_of: dict[int, int] = {i: g for g, (_ms, m) in enumerate(self.groups) for i in m}
        groups_of: dict[int, list[int]] = defaultdict(list)
        for g, (measures, _m) in enumerate(self.groups):
            for j in dict.fromkeys(j for _num, j in measures if j is not None):
                groups_of[j].append(g)
        self.groups_of_measure = dict(groups_of)

    @staticmethod
    def _inherit(
        measures: tuple[tuple[str, int | None], ...], totals: dict[int, float], coverage: dict[int, float]
    ) -> tuple[float, str, float]:
        """What a group's offers get from their measures: (best score, its measure, best share)."""
        best_measure, best_m_score, share = measures[0][0], -1.0, 0.0
        for num, j in measures:
            s = totals.get(j, 0.0) if j is not None else 0.0
            if j is not None:
                share = max(share, coverage.get(j, 0.0))
            if s > best_m_score:
                best_measure, best_m_score = num, s
        return max(0.0, best_m_score), best_measure, share

    def rank(self, totals: dict[int, float], coverage: dict[int, float], limit: int) -> Ranked:
        """Every document that may be shown, with its score, its measure and its explained share.

        ``totals`` and ``coverage`` are ``SearchIndex.explain``'s. An offer's score is the best
        of its own and its measures', its share likewise. Measures absorbed by an offer that
        scored are left out; of a group of offers that only inherited a score, all but the first
        ``limit`` members.
        """
        docs, groups = self.docs, self.groups
        final: Ranked = {}
        inherited: dict[int, tuple[float, str, float]] = {}  # group -> its measures' best
        touched: set[int] = set()  # groups of the measures that scored
        for i, own in totals.items():
            kind = docs[i].kind
            if kind == "offer":
                g = self.group_of[i]
                if g not in inherited:
                    inherited[g] = self._inherit(groups[g][0], totals, coverage)
                score, measure, share = inherited[g]
                final[i] = (max(own, score), measure, max(coverage.get(i, 0.0), share))
            elif kind == "measure":
                touched.update(self.groups_of_measure.get(i, ()))
        scored = set(inherited)  # groups with an offer that scored itself: they absorb
        keep = max(limit, 1)
        for g in touched:
            if g not in inherited:
                inherited[g] = self._inherit(groups[g][0], totals, coverage)
            entry = inherited[g]
            if entry[0] <= 0:
                continue
            scored.add(g)
            shown = 0
            for i in groups[g][1]:
                if i not in totals:
                    final[i] = entry
                    shown += 1
                    if shown >= keep:
                        break
        absorbed = {j for g in scored for _num, j in groups[g][0] if j is not None}
        for i, s in totals.items():
            doc = docs[i]
            if doc.kind == "measure" and i not in absorbed:
                final[i] = (s, doc.id, coverage.get(i, 0.0))
            elif doc.kind == "referral":
                final[i] = (s, "", coverage.get(i, 0.0))
        return final
