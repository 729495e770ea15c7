"""Offers ranked by group give the same hits as offers scored one by one."""

from __future__ import annotations

import random

import pytest

from bot.search.index import SearchDoc, SearchIndex


def one_by_one(index: SearchIndex, text: str, limit: int) -> list[tuple[str, str, str, float]]:
    """The search as it was: every offer of every matched measure scored and sorted."""
    totals, coverage = index.explain(text)
    offers_of: dict[int, list[int]] = {}
    for i, d in enumerate(index.docs):
        for num in d.measures if d.kind == "offer" else ():
            if num in index.measure_doc:
                offers_of.setdefault(index.measure_doc[num], []).append(i)
    candidates = {i for i in totals if index.docs[i].kind == "offer"}
    for i in totals:
        candidates.update(offers_of.get(i, ()))
    absorbed, final = set(), {}
    for i in candidates:
        doc = index.docs[i]
        share, best, best_s = coverage.get(i, 0.0), doc.measures[0], -1.0
        for num in doc.measures:
            j = index.measure_doc.get(num)
            s = totals.get(j, 0.0) if j is not None else 0.0
            if j is not None:
                share = max(share, coverage.get(j, 0.0))
            if s > best_s:
                best, best_s = num, s
        final[i] = (max(totals.get(i, 0.0), best_s), best, share)
        absorbed.update(index.measure_doc[n] for n in doc.measures if n in index.measure_doc)
    for i, s in totals.items():
        doc = index.docs[i]
        if doc.kind == "measure" and i not in absorbed:
            final[i] = (s, doc.id, coverage.get(i, 0.0))
        elif doc.kind == "referral":
            final[i] = (s, "", coverage.get(i, 0.0))
    ranked = sorted(
        ((i, v) for i, v in final.items() if v[2] >= index.min_coverage * 0.5),
        key=lambda kv: (-kv[1][0], kv[0]),
    )
    if not ranked or ranked[0][1][0] < index.threshold:
        return []
    if ranked[0][1][2] < index.min_coverage and ranked[0][1][0] < 18.0:
        return []
    floor = max(index.threshold, index.relative_cut * ranked[0][1][0])
    out = [(index.docs[i].kind, index.docs[i].id, m, round(s, 3)) for i, (s, m, _) in ranked if s >= floor]
    return out[:limit]


WORDS = "wohnung miete kita schule arbeit sprache kurs beratung arzt familie pflege sport".split()


def random_docs(rng: random.Random) -> list[SearchDoc]:
    measures = [f"{k}.{j}" for k in range(1, 4) for j in range(1, 4)]
    docs = [SearchDoc("measure", m, (m,), [(" ".join(rng.sample(WORDS, 3)), 3.0, "de")]) for m in measures]
    for i in range(120):
        linked = tuple(rng.sample(measures + ["9.9"], rng.randint(1, 3)))  # "9.9": no such measure
        text = " ".join(rng.sample(WORDS, rng.randint(0, 2)))
        docs.append(SearchDoc("offer", f"offer-{i}", linked, [(text, 1.0, "de")] if text else []))
    docs.append(SearchDoc("referral", "ref", (), [("arzt pflege", 3.0, "de")]))
    return docs


@pytest.mark.parametrize("seed", range(8))
def test_grouped_ranking_equals_scoring_every_offer(seed):
    rng = random.Random(seed)
    index = SearchIndex(random_docs(rng), threshold=0.5, min_coverage=0.1)
    for _ in range(40):
        text = " ".join(rng.sample(WORDS + ["pizza", "wohnungen", "beratungs"], rng.randint(1, 4)))
        for limit in (1, 3, 5, 200):
            got = [(h.kind, h.id, h.measure, h.score) for h in index.search(text, limit=limit)]
            assert got == one_by_one(index, text, limit), (text, limit)


def test_offers_that_only_inherit_a_score_are_ordered_by_document():
    docs = [SearchDoc("measure", "1.1", ("1.1",), [("wohnung", 3.0, "de")])]
    docs += [SearchDoc("offer", f"o{i}", ("1.1",), []) for i in range(10)]
    hits = SearchIndex(docs, threshold=0.1, relative_cut=0.0).search("wohnung", limit=4)
    assert [h.id for h in hits] == ["o0", "o1", "o2", "o3"]
    assert {h.measure for h in hits} == {"1.1"}
