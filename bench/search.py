"""Search benchmark: latency (p50/p99) on the real content and with 10,000 synthetic offers,
accuracy per language on bench/questions.yaml (tuned on), bench/questions_holdout.yaml (de/en,
seen once) and bench/questions_multilingual_*.yaml (ten languages, written apart from the
keywords and the code), and memory
(RSS). Prints one JSON object.

    python bench/search.py [--repeat 5] [--synthetic 10000] [--seed 1] [--passes 10]

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


def time_queries(
    index: SearchIndex, queries: list[str], *, cold: bool, rounds: int, passes: int = 10
) -> dict:
    """Per round, every query ``passes`` times; p50/p99 per round, medians over the rounds."""
    p50s, p99s = [], []
    for _ in range(rounds):
        samples = []
        for q in queries * passes:
            if cold:
                index._cache.clear()
            t0 = time.perf_counter()
            index.search(q, limit=5)
            samples.append((time.perf_counter() - t0) * 1000)
        p50s.append(percentile(samples, 50))
        p99s.append(percentile(samples, 99))
    return {
        "p50_ms": round(statistics.median(p50s), 3),
        "p99_ms": round(statistics.median(p99s), 3),
        "samples_per_round": len(queries) * passes,
        "rounds": rounds,
    }


def synthetic_docs(index: SearchIndex, n: int, measures: list[str], rng: random.Random) -> list[SearchDoc]:
    """Offers whose texts mix real vocabulary (long postings) with invented words (a bigger vocabulary)."""
    real = index.sorted_terms
    syllables = [
        "ka",
        "lo",
        "mi",
        "ne",
        "ru",
        "sa",
        "to",
        "vi",
        "ber",
        "dan",
        "gel",
        "hor",
        "lin",
        "mar",
        "pel",
        "ster",
    ]
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


def accuracy(index: SearchIndex, cases: list[dict]) -> dict:
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


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=5, help="rounds per measurement; medians are reported")
    ap.add_argument("--synthetic", type=int, default=10_000, help="extra synthetic offers")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--passes", type=int, default=10, help="times each question is timed per round")
    args = ap.parse_args()

    rss_start = rss_mb()
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
    gc.collect()
    rss_loaded = rss_mb()

    def load(name: str) -> list[dict]:
        return yaml.safe_load((ROOT / "bench" / name).read_text(encoding="utf-8")) or []

    cases = load("questions.yaml")
    holdout = load("questions_holdout.yaml")
    multilingual = [
        c for p in sorted((ROOT / "bench").glob("questions_multilingual*.yaml")) for c in load(p.name)
    ]
    queries = [c["q"] for c in cases + holdout + multilingual]
    index = catalog.index
    real = {
        "documents": len(index.docs),
        "vocabulary": len(index.postings),
        "cold": time_queries(index, queries, cold=True, rounds=args.repeat, passes=args.passes),
        "warm": time_queries(index, queries, cold=False, rounds=args.repeat, passes=args.passes),
    }

    rng = random.Random(args.seed)
    t0 = time.perf_counter()
    big = catalog.build_index(extra=synthetic_docs(index, args.synthetic, list(catalog.measures), rng))
    build_s = time.perf_counter() - t0
    gc.collect()
    synthetic = {
        "extra_offers": args.synthetic,
        "documents": len(big.docs),
        "vocabulary": len(big.postings),
        "index_build_s": round(build_s, 2),
        "cold": time_queries(big, queries, cold=True, rounds=args.repeat, passes=args.passes),
        "warm": time_queries(big, queries, cold=False, rounds=args.repeat, passes=args.passes),
    }
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
        "accuracy": {
            "questions.yaml (tuned on)": accuracy(index, cases),
            "questions_holdout.yaml": accuracy(index, holdout),
            "questions_multilingual*.yaml": accuracy(index, multilingual),
        },
        "rss_mb": {
            "interpreter_and_imports": round(rss_start, 1),
            "catalog_loaded": round(rss_loaded, 1),
            "with_synthetic_index": round(rss_mb(), 1),
            "peak": round(peak_rss_mb(), 1),
        },
        "targets": {"real_p99_ms": 5, "synthetic_p99_ms": 25},
    }
    result["targets_met"] = {
        "real_p99": real["cold"]["p99_ms"] <= 5,
        "synthetic_p99": synthetic["cold"]["p99_ms"] <= 25,
    }
    print(json.dumps(result, indent=2, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
