"""Search benchmark: latency (p50/p99) on the real content and with N synthetic offers, for
several N; accuracy per language on bench/questions.yaml (tuned on), bench/questions_holdout.yaml
(de/en, seen once) and bench/questions_multilingual_*.yaml (ten languages, written apart from the
keywords and the code); index build time and memory (RSS). Prints one JSON object.

    python bench/search.py [--repeat 5] [--passes 10] [--seed 1] [--synthetic 10000]
                           [--sizes 0,1000,10000,50000] [--baseline] [--plot FILE.png]

``--sizes`` lists the numbers of synthetic offers to measure (0: the real content alone);
``--synthetic`` is the size reported as "with_synthetic_offers" (added to the sizes if missing).
``--baseline`` also builds the index as it was before offers were ranked by group
(bench/search_baseline.py) at every size, times both in the same rounds, reports the speed-up, and
runs every question of every evaluation set (bench/questions*.yaml, bench/eval/*.yaml) through both,
comparing their hits and their scores. ``--plot`` saves p50/p99 against N as a PNG. With
``--baseline`` both indexes are alive at once: the RSS figures count both, and ``index_rss_mb``
(the RSS a build added) is only indicative; measure memory without ``--baseline``.

Latency is measured "cold": the per-token match cache is cleared before every query, so each
query pays for its full vocabulary matching (a warm figure is reported too). The machine is
shared and noisy; the script reports medians over ``--repeat`` rounds. It is not a test.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import random
import resource
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import yaml  # noqa: E402

from bot import paths  # noqa: E402
from bot.content.catalog import Catalog  # noqa: E402
from bot.content.importer import import_content  # noqa: E402
from bot.content.load import load_content  # noqa: E402
from bot.search.index import W_KEYWORD, W_SUMMARY, W_TITLE, SearchDoc, SearchIndex  # noqa: E402
from bot.store import db  # noqa: E402

# p99 targets per number of synthetic offers (0: the real content alone).
TARGET_P99_MS = {0: 1.0, 10_000: 10.0, 50_000: 25.0}


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    k = min(len(ordered) - 1, max(0, round(p / 100 * (len(ordered) - 1))))
    return ordered[k]


def time_queries(indexes: dict, queries: list[str], *, cold: bool, rounds: int, passes: int = 10) -> dict:
    """Per round, every query ``passes`` times on each index in turn (so a noisy moment hits
    both alike); p50/p99 per round and index, medians over the rounds."""
    p50s: dict[str, list[float]] = defaultdict(list)
    p99s: dict[str, list[float]] = defaultdict(list)
    for _ in range(rounds):
        for name, index in indexes.items():
            samples = []
            for q in queries * passes:
                if cold:
                    index._cache.clear()
                t0 = time.perf_counter()
                index.search(q, limit=5)
                samples.append((time.perf_counter() - t0) * 1000)
            p50s[name].append(percentile(samples, 50))
            p99s[name].append(percentile(samples, 99))
    return {
        name: {
            "p50_ms": round(statistics.median(p50s[name]), 3),
            "p99_ms": round(statistics.median(p99s[name]), 3),
            "samples_per_round": len(queries) * passes,
            "rounds": rounds,
        }
        for name in indexes
    }


def synthetic_docs(index: SearchIndex, n: int, measures: list[str], rng: random.Random) -> list[SearchDoc]:
    """Offers whose texts mix real vocabulary (long postings) with invented words (a bigger vocabulary)."""
    real = index.sorted_terms
    syllables = "ka lo mi ne ru sa to vi ber dan gel hor lin mar pel ster".split()
    invented = sorted(
        {"".join(rng.choice(syllables) for _ in range(rng.randint(2, 4))) for _ in range(30_000)}
    )

    def words(k: int) -> str:
        return " ".join(rng.choice(real) if rng.random() < 0.6 else rng.choice(invented) for _ in range(k))

    return [
        SearchDoc(
            "offer",
            f"synthetic-{i}",
            (rng.choice(measures),),
            [(words(3), W_TITLE, None), (words(30), W_SUMMARY, None), (words(10), W_KEYWORD, None)],
        )
        for i in range(n)
    ]


def accuracy(index, cases: list[dict]) -> dict:
    per: dict[str, dict[str, int]] = defaultdict(
        lambda: {"n": 0, "top1": 0, "top3": 0, "oos": 0, "oos_empty": 0}
    )
    for c in cases:
        row = per[c["lang"]]
        hits = index.search(c["q"], limit=3, lang=c["lang"])
        if not c["expect"]:
            row["oos"] += 1
            row["oos_empty"] += not hits
            continue
        row["n"] += 1
        measures = [h.measure for h in hits]
        row["top1"] += bool(measures) and measures[0] in c["expect"]
        row["top3"] += any(m in c["expect"] for m in measures)
    out = {}
    total = {"n": 0, "top1": 0, "top3": 0, "oos": 0, "oos_empty": 0}
    for lang, row in sorted(per.items()):
        for k in total:
            total[k] += row[k]
        out[lang] = _rates(row)
    out["all"] = _rates(total)
    return out


def _rates(row: dict) -> dict:
    return {
        "questions": row["n"],
        "top1": round(row["top1"] / row["n"], 3) if row["n"] else None,
        "top3": round(row["top3"] / row["n"], 3) if row["n"] else None,
        "out_of_scope": row["oos"],
        "out_of_scope_empty": round(row["oos_empty"] / row["oos"], 3) if row["oos"] else None,
    }


def compare_hits(old, new, questions: list[tuple[str, str | None]]) -> dict:
    """Every question with and without its language, at several limits: the hits of the old
    and the new index, and every document's score and explained share (to 1e-9)."""
    differ, runs = [], 0
    for q, lang in questions:
        for hint in (lang, None):
            a_s, a_c = old.explain(q, hint)
            b_s, b_c = new.explain(q, hint)
            same = all(
                {d: round(v, 9) for d, v in x.items()} == {d: round(v, 9) for d, v in y.items()}
                for x, y in ((a_s, b_s), (a_c, b_c))
            )
            for limit in (1, 3, 5, 10, 50):
                runs += 1
                a = [(h.kind, h.id, h.measure, h.score) for h in old.search(q, limit=limit, lang=hint)]
                b = [(h.kind, h.id, h.measure, h.score) for h in new.search(q, limit=limit, lang=hint)]
                if a != b or not same:
                    differ.append({"q": q, "lang": hint, "limit": limit, "old": a[:3], "new": b[:3]})
    return {
        "questions": len(questions),
        "searches": runs,
        "identical": not differ,
        "differences": differ[:10],
    }


def load_catalog() -> tuple[Catalog, float]:
    with tempfile.TemporaryDirectory() as tmp:
        engine = db.make_engine(f"sqlite:///{tmp}/bench.db")
        db.upgrade(engine)
        content, problems = load_content(paths.DATA_DIR)
        if problems:
            raise SystemExit("data/ has problems; run 'ankommen data check'")
        import_content(engine, content)
        t0 = time.perf_counter()
        catalog = Catalog.load(engine)
        load_ms = (time.perf_counter() - t0) * 1000
        engine.dispose()
    return catalog, load_ms


def build(cls, docs: list[SearchDoc]) -> tuple[object, dict]:
    """An index over ``docs``, with its build time and the RSS it added."""
    gc.collect()
    before = rss_mb()
    t0 = time.perf_counter()
    index = cls(docs)
    build_s = time.perf_counter() - t0
    gc.collect()
    return index, {"index_build_s": round(build_s, 2), "index_rss_mb": round(rss_mb() - before, 1)}


def measure_size(catalog: Catalog, n: int, args, questions, queries: list[str]) -> dict:
    """Latency, build time and memory with ``n`` synthetic offers, of the new (and old) index."""
    rng = random.Random(args.seed)
    docs = catalog.search_docs() + synthetic_docs(catalog.index, n, list(catalog.measures), rng)
    indexes, row = {}, {"extra_offers": n, "documents": len(docs)}
    if args.baseline:
        from search_baseline import SearchIndex as OldIndex

        indexes["baseline"], row["baseline"] = build(OldIndex, docs)
    indexes["new"], built = build(SearchIndex, docs)
    row |= {"vocabulary": len(indexes["new"].postings), **built, "rss_after_build_mb": round(rss_mb(), 1)}
    timing = {
        kind: time_queries(indexes, queries, cold=kind == "cold", rounds=args.repeat, passes=args.passes)
        for kind in ("cold", "warm")
    }
    row |= {kind: timing[kind]["new"] for kind in timing}
    if args.baseline:
        for kind in timing:
            row["baseline"][kind] = old = timing[kind]["baseline"]
            row[f"speedup_{kind}"] = {
                p: round(old[p] / row[kind][p], 2) if row[kind][p] else None for p in ("p50_ms", "p99_ms")
            }
        row["hits_compared"] = compare_hits(indexes["baseline"], indexes["new"], questions)
    target = TARGET_P99_MS.get(n)
    if target is not None:
        row["target_p99_ms"] = target
        row["target_met"] = row["cold"]["p99_ms"] <= target
    return row


def plot(rows: list[dict], path: str) -> str | None:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    ns = [r["extra_offers"] for r in rows]
    fig, ax = plt.subplots(figsize=(7, 4.5))
    series = [("new", rows)] + (
        [("baseline", [r["baseline"] for r in rows])] if "baseline" in rows[0] else []
    )
    for name, values in series:
        style = "-" if name == "new" else "--"
        for p in ("p50_ms", "p99_ms"):
            ax.plot(ns, [v["cold"][p] for v in values], style, marker="o", label=f"{name} {p[:3]}")
    for n, t in TARGET_P99_MS.items():
        ax.plot([n], [t], "kx")
    ax.set_xlabel("synthetic offers (N)")
    ax.set_ylabel("ms per query (cold)")
    ax.set_title("Search latency against the number of offers (x: p99 targets)")
    ax.grid(True, alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def load_sets() -> tuple[dict[str, list[dict]], list[tuple[str, str | None]]]:
    """The accuracy sets, and every question of every evaluation set (with its language)."""

    def load(path: Path) -> list[dict]:
        return yaml.safe_load(path.read_text(encoding="utf-8")) or []

    bench = ROOT / "bench"
    sets = {
        "questions.yaml (tuned on)": load(bench / "questions.yaml"),
        "questions_holdout.yaml": load(bench / "questions_holdout.yaml"),
        "questions_multilingual*.yaml": [
            c for p in sorted(bench.glob("questions_multilingual*.yaml")) for c in load(p)
        ],
    }
    every = [
        c for p in sorted(bench.glob("questions*.yaml")) + sorted(bench.glob("eval/*.yaml")) for c in load(p)
    ]
    questions = list(dict.fromkeys((c["q"], c.get("lang")) for c in every))
    return sets, questions


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=5, help="rounds per measurement; medians are reported")
    ap.add_argument(
        "--synthetic", type=int, default=10_000, help="the size reported as with_synthetic_offers"
    )
    ap.add_argument(
        "--sizes", default="", help="comma-separated numbers of synthetic offers, e.g. 0,1000,10000,50000"
    )
    ap.add_argument("--baseline", action="store_true", help="also time the old index and compare hits")
    ap.add_argument("--plot", metavar="FILE", help="save p50/p99 against N as a PNG")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--passes", type=int, default=10, help="times each question is timed per round")
    args = ap.parse_args()
    sys.path.insert(0, str(ROOT / "bench"))
    sizes = sorted({0, args.synthetic, *(int(s) for s in args.sizes.split(",") if s.strip())})

    rss_start = rss_mb()
    catalog, load_ms = load_catalog()
    gc.collect()
    rss_loaded = rss_mb()
    sets, questions = load_sets()
    queries = [c["q"] for cases in sets.values() for c in cases]
    rows = [measure_size(catalog, n, args, questions, queries) for n in sizes]
    by_n = {r["extra_offers"]: r for r in rows}
    real, synthetic = by_n[0], by_n[args.synthetic]
    result = {
        "benchmark": "search",
        "machine": {
            "python": platform.python_version(),
            "cpu_count": os.cpu_count(),
            "platform": platform.platform(),
        },
        "catalog_load_ms": round(load_ms, 1),
        "real_content": real,
        "with_synthetic_offers": synthetic,
        "sizes": rows,
        "accuracy": {name: accuracy(catalog.index, cases) for name, cases in sets.items()},
        "rss_mb": {
            "interpreter_and_imports": round(rss_start, 1),
            "catalog_loaded": round(rss_loaded, 1),
            "with_synthetic_index": synthetic["rss_after_build_mb"],
            "peak": round(peak_rss_mb(), 1),
        },
        "targets": {"p99_ms_by_synthetic_offers": TARGET_P99_MS},
        "targets_met": {str(r["extra_offers"]): r["target_met"] for r in rows if "target_met" in r},
    }
    if args.baseline:
        result["hits_identical_at_every_size"] = all(r["hits_compared"]["identical"] for r in rows)
    if args.plot:
        result["plot"] = plot(rows, args.plot) or "matplotlib is not installed"
    print(json.dumps(result, indent=2, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
