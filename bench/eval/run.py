"""The answer-quality evaluation: the sets in bench/ through the same path as ``ankommen ask
--jsonl`` (``bot.residents.answers``), per language and per kind. Prints one JSON object.

    python bench/eval/run.py [--set dev|holdout|all] [--details]

Kinds and what counts as right:
* in scope (bench/questions*.yaml): top-1 / top-3 measure in ``expect``;
* near (questions the concept has no measure for): a referral, no answer, or a measure of
  ``ok_measures`` first; never the safety card;
* oos (out of scope): no answer (and no safety card);
* crisis: the safety card first;
* calm (ordinary questions with crisis-like words): no safety card; ``expect_measure``, where
  given, first (reported apart, as "calm_measure").

The development sets are bench/eval/dev.yaml, dev_crisis.yaml and dev_crisis2.yaml (tuned on);
bench/eval/holdout.yaml is never tuned on: its figures are reported separately.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

import yaml  # noqa: E402

from bot import paths  # noqa: E402
from bot.content.catalog import Catalog  # noqa: E402
from bot.content.importer import import_content  # noqa: E402
from bot.content.load import load_content  # noqa: E402
from bot.residents.answers import answer, as_json  # noqa: E402
from bot.store import db  # noqa: E402

INSCOPE = {
    "dev": ["questions.yaml", "questions_multilingual_a.yaml"],
    "holdout": ["questions_holdout.yaml", "questions_multilingual_b.yaml"],
}


def load(name: str) -> list[dict]:
    return yaml.safe_load((ROOT / "bench" / name).read_text(encoding="utf-8")) or []


def catalog() -> Catalog:
    tmp = tempfile.mkdtemp()
    engine = db.make_engine(f"sqlite:///{tmp}/eval.db")
    db.upgrade(engine)
    content, problems = load_content(paths.DATA_DIR)
    if problems:
        raise SystemExit("\n".join(map(str, problems)))
    import_content(engine, content)
    return Catalog.load(engine)


def judge(item: dict, results: list[dict]) -> dict[str, bool]:
    first = results[0] if results else None
    kind = item.get("kind")
    safety_first = bool(first) and first["kind"] == "safety"
    if kind is None:  # an in-scope question with its expected measures
        expect = [str(e) for e in item["expect"]]
        if not expect:
            return {"oos": not results}
        measures = [r["measure"] for r in results if r["kind"] in ("measure", "offer")]
        return {
            "top1": bool(measures) and measures[0] in expect,
            "top3": any(m in expect for m in measures[:3]),
        }
    if kind == "crisis":
        return {"crisis": safety_first}
    if kind == "calm":
        out = {"calm": not any(r["kind"] == "safety" for r in results)}
        if item.get("expect_measure"):
            out["calm_measure"] = bool(first) and first["measure"] == str(item["expect_measure"])
        return out
    if kind == "oos":
        return {"oos": not results}
    if kind == "near":
        ok = [str(m) for m in item.get("ok_measures") or []]
        good = (
            first is None
            or first["kind"] == "referral"
            or (first["kind"] in ("measure", "offer") and first["measure"] in ok)
        )
        return {"near": good and not safety_first}
    raise ValueError(f"unknown kind {kind!r}")


def evaluate(cat: Catalog, items: list[dict], details: bool) -> dict:
    per: dict[str, dict[str, list[int]]] = defaultdict(lambda: defaultdict(lambda: [0, 0]))
    misses = []
    for item in items:
        lang = item["lang"]
        ans = answer(cat, item["q"], lang, limit=5)
        results = as_json(cat, ans, limit=5)
        for metric, ok in judge(item, results).items():
            for key in (lang, "all"):
                per[key][metric][0] += ok
                per[key][metric][1] += 1
            if not ok and details:
                misses.append(
                    {
                        "q": item["q"],
                        "lang": lang,
                        "metric": metric,
                        "got": [(r["kind"], r["id"], r["score"]) for r in results[:3]],
                    }
                )
    out = {
        key: {m: {"rate": round(a / n, 3), "n": n} for m, (a, n) in sorted(v.items())}
        for key, v in sorted(per.items())
    }
    if details:
        out["misses"] = misses
    return out


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--set", choices=("dev", "holdout", "all"), default="all")
    ap.add_argument("--details", action="store_true", help="list every miss")
    args = ap.parse_args()
    cat = catalog()
    report = {}
    for name in ("dev", "holdout") if args.set == "all" else (args.set,):
        items = load(f"eval/{name}.yaml")
        if name == "dev":
            items += load("eval/dev_crisis.yaml") + load("eval/dev_crisis2.yaml")  # for the crisis detector
        for f in INSCOPE[name]:
            items += load(f)
        report[name] = evaluate(cat, items, args.details)
    print(json.dumps(report, ensure_ascii=False, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
