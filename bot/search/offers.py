"""How offers absorb their measures, in time that does not grow with the number of offers.

An offer's score is the best of its own and its measures'; the measures it belongs to are then
not listed again. Done offer by offer, a question that matches a measure touches every offer of
that measure: with tens of thousands of offers, most of the time of a search went into offers
that had no word of the question and only inherited a measure's score.

Such offers are alike: an offer that did not score itself has exactly the score, measure and
explained share that its tuple of measures gives it. So offers are grouped by that tuple. A
group is scored once; of its members that did not score themselves only the first ``limit`` (by
document number) can be shown, because equal scores are ordered by document number, so only
they are ranked. Offers that scored themselves are still scored one by one. The hits are the
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
        # Per offer, its measures as (number, measure document or None), in order.
        self.measures_of: dict[int, tuple[tuple[str, int | None], ...]] = {}
        members: dict[tuple[str, ...], list[int]] = defaultdict(list)
        for i, d in enumerate(docs):
            if d.kind == "offer":
                self.measures_of[i] = tuple((num, measure_doc.get(num)) for num in d.measures)
                members[d.measures].append(i)  # in document order
        self.groups: list[tuple[tuple[tuple[str, int | None], ...], list[int]]] = [
            (self.measures_of[m[0]], m) for m in members.values()
        ]
        groups_of: dict[int, list[int]] = defaultdict(list)
        for g, (measures, _m) in enumerate(self.groups):
            for j in dict.fromkeys(j for _num, j in measures if j is not None):
                groups_of[j].append(g)
        self.groups_of_measure = dict(groups_of)

    @staticmethod
    def _inherit(
        measures: tuple[tuple[str, int | None], ...],
        totals: dict[int, float],
        coverage: dict[int, float],
        own: float,
        share: float,
    ) -> tuple[float, str, float]:
        """An offer's (score, measure shown, share): its best measure, unless it scored more itself."""
        best_measure, best_m_score = measures[0][0], -1.0
        for num, j in measures:
            s = totals.get(j, 0.0) if j is not None else 0.0
            if j is not None:
                share = max(share, coverage.get(j, 0.0))
            if s > best_m_score:
                best_measure, best_m_score = num, s
        return max(own, best_m_score), best_measure, share

    def rank(self, totals: dict[int, float], coverage: dict[int, float], limit: int) -> Ranked:
        """Every document that may be shown, with its score, its measure and its explained share.

        ``totals`` and ``coverage`` are ``SearchIndex.explain``'s. Measures absorbed by an offer
        that scored are left out; of a group of offers that only inherited a score, the first
        ``limit`` members.
        """
        docs = self.docs
        final: Ranked = {}
        absorbed: set[int] = set()
        touched: set[int] = set()
        for i in totals:
            kind = docs[i].kind
            if kind == "offer":
                measures = self.measures_of[i]
                entry = self._inherit(measures, totals, coverage, totals[i], coverage.get(i, 0.0))
                final[i] = entry  # its own score is positive
                absorbed.update(j for _num, j in measures if j is not None)
            elif kind == "measure":
                touched.update(self.groups_of_measure.get(i, ()))
        keep = max(limit, 1)
        for g in touched:
            measures, members = self.groups[g]
            entry = self._inherit(measures, totals, coverage, 0.0, 0.0)
            if entry[0] <= 0:
                continue
            absorbed.update(j for _num, j in measures if j is not None)
            shown = 0
            for i in members:
                if i not in totals:
                    final[i] = entry
                    shown += 1
                    if shown >= keep:
                        break
        for i, s in totals.items():
            doc = docs[i]
            if doc.kind == "measure" and i not in absorbed:
                final[i] = (s, doc.id, coverage.get(i, 0.0))
            elif doc.kind == "referral":
                final[i] = (s, "", coverage.get(i, 0.0))
        return final
