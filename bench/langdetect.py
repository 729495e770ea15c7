"""Language detection: today's rules (``bot.text.detect_language``) against the rules with the
``lingua-language-detector`` package as a fallback, on the project's own question sets. Prints
one JSON object.

    python bench/langdetect.py [--repeat 5]

The texts are every question of bench/questions*.yaml and bench/eval/*.yaml, each with the
language it is written in (``lang``). The fallback is asked only where the rules are unsure: a
text in Latin script for which no stop word or special letter decided (``detect_language``
returns the hint there, or None without one). It is restricted to the project's languages
(``bot.languages.SUPPORTED_LANGUAGES``). Two ways are measured:

* ``without_hint``: ``detect_language(text)``, as ``ankommen ask`` does when no language is chosen;
  here "unsure" means no answer at all, and the fallback's answer stands in;
* ``chosen_hint``: ``detect_language(text, hint=lang)``, as the dialogue and the search do for
  a resident who chose the language they write in; the rules return the hint when unsure, and
  the fallback overrides it;
* ``default_hint``: the hint is ``de``, the default language of a resident who has not chosen
  one (the dialogue offers to switch when the question looks like another language).

Per way, the share of texts whose true language is detected (per language and overall), and
how many unsure texts the fallback fixed, broke, or left wrong; with a hint, also the wrong
offers to switch (a detected language that is neither the hint nor the true one). Cost, per detector configuration
(``CONFIGS``; the first is the one of the per-language figures), each in a subprocess of its
own: the resident memory (RSS) before importing lingua, after building the detector with its
models loaded, and after the detections; the build time; and the median time of one detection. lingua's
models are inside its wheel: nothing is downloaded. lingua is not a dependency of Ankommen
(see the README, "Language detection"): ``pip install lingua-language-detector==2.1.1`` first.
It is not a test.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import yaml  # noqa: E402

from bot.languages import SUPPORTED_LANGUAGES  # noqa: E402
from bot.search.text import detect_language  # noqa: E402

LATIN_LANGUAGES = ("de", "en", "tr", "pl", "ro", "vi")  # those of SUPPORTED_LANGUAGES in Latin script
# name: (languages, low accuracy mode). The first is the one the accuracy figures are for.
CONFIGS = {
    "project_languages": (SUPPORTED_LANGUAGES, False),
    "latin_languages": (LATIN_LANGUAGES, False),
    "latin_languages_low_accuracy": (LATIN_LANGUAGES, True),
}


def texts() -> tuple[list[dict], dict[str, int]]:
    items, sets = [], {}
    for path in sorted(ROOT.glob("bench/questions*.yaml")) + sorted(ROOT.glob("bench/eval/*.yaml")):
        found = [i for i in yaml.safe_load(path.read_text(encoding="utf-8")) or [] if i.get("q")]
        sets[str(path.relative_to(ROOT))] = len(found)
        items += [{"q": i["q"], "lang": i["lang"]} for i in found]
    return items, sets


def is_latin(text: str) -> bool:
    letters = [c for c in text if c.isalpha()]
    latin = sum(1 for c in letters if c.isascii() or "\u00c0" <= c <= "\u024f" or "\u1e00" <= c <= "\u1eff")
    return bool(letters) and latin * 2 > len(letters)


def unsure(text: str) -> bool:
    """The rules had nothing to go on: Latin letters, no stop word, no special letter."""
    return is_latin(text) and detect_language(text) is None


def build(languages, low_accuracy: bool):
    from lingua import IsoCode639_1, LanguageDetectorBuilder

    codes = [IsoCode639_1.from_str(code) for code in languages]
    builder = LanguageDetectorBuilder.from_iso_codes_639_1(*codes).with_preloaded_language_models()
    return (builder.with_low_accuracy_mode() if low_accuracy else builder).build()


def lingua_guess(detector, text: str) -> str | None:
    found = detector.detect_language_of(text)
    return found.iso_code_639_1.name.lower() if found is not None else None


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def child(config: str, repeat: int) -> None:
    """In a fresh process: memory and time of one detector configuration, and its answers."""
    items = json.loads(sys.stdin.read())
    before = rss_mb()
    started = time.perf_counter()
    import lingua  # noqa: F401

    imported = rss_mb()
    detector = build(*CONFIGS[config])
    built_s = time.perf_counter() - started
    built = rss_mb()
    answers = [lingua_guess(detector, q) for q in items]
    calls = []
    for _ in range(repeat):
        for q in items:
            t = time.perf_counter()
            detector.detect_language_of(q)
            calls.append(time.perf_counter() - t)
    out = {
        "rss_before_mb": round(before, 1),
        "rss_after_import_mb": round(imported, 1),
        "rss_after_build_mb": round(built, 1),
        "rss_after_calls_mb": round(rss_mb(), 1),
        "added_rss_mb": round(rss_mb() - before, 1),
        "build_s": round(built_s, 3),
        "call_ms_median": round(statistics.median(calls) * 1000, 3),
        "call_ms_max": round(max(calls) * 1000, 3),
        "answers": answers,
    }
    print(json.dumps(out))


def measure(config: str, unsure_texts: list[str], repeat: int) -> dict:
    proc = subprocess.run(
        [sys.executable, __file__, "--child", config, "--repeat", str(repeat)],
        input=json.dumps(unsure_texts),
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(proc.stdout)


def shares(items: list[dict], guesses: list[str | None]) -> dict:
    per: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for item, guess in zip(items, guesses, strict=True):
        latin = ("latin_script_languages",) if item["lang"] in LATIN_LANGUAGES else ()
        for key in (item["lang"], "all", *latin):
            per[key][0] += guess == item["lang"]
            per[key][1] += 1
    return {k: {"rate": round(a / n, 3), "right": a, "n": n} for k, (a, n) in sorted(per.items())}


def rules_call_us(items: list[dict], repeat: int) -> float:
    bare = detect_language.__wrapped__  # without the lru_cache
    calls = []
    for _ in range(repeat):
        for item in items:
            t = time.perf_counter()
            bare(item["q"], item["lang"])
            calls.append(time.perf_counter() - t)
    return round(statistics.median(calls) * 1e6, 1)


# How the rules are asked: (name, the hint given for an item).
WAYS = {
    "without_hint": lambda item: None,
    "chosen_hint": lambda item: item["lang"],
    "default_hint": lambda item: "de",
}


def wrong_offers(items: list[dict], guesses: list[str | None], hint) -> int:
    return sum(1 for item, g in zip(items, guesses, strict=True) if g not in (None, hint(item), item["lang"]))


def compare(items: list[dict], todo: list[int], answers: list[str | None], details: bool) -> dict:
    """Per way of asking: the rules alone and with the fallback, and what the fallback changed."""
    fallback = dict(zip(todo, answers, strict=True))
    out = {}
    for way, hint in WAYS.items():
        rules = [detect_language(item["q"], hint(item)) for item in items]
        both = [fallback.get(i) or guess for i, guess in enumerate(rules)]
        right = [(rules[i] == items[i]["lang"], both[i] == items[i]["lang"]) for i in todo]
        out[way] = {
            "rules": shares(items, rules),
            "rules_and_lingua": shares(items, both),
            "fixed": sum(1 for was, now in right if now and not was),
            "broken": sum(1 for was, now in right if was and not now),
            "wrong_either_way": sum(1 for was, now in right if not was and not now),
        }
        if way != "without_hint":  # the dialogue offers to switch to a detected language not the hint
            out[way]["wrong_switch_offers"] = {
                "rules": wrong_offers(items, rules, hint),
                "rules_and_lingua": wrong_offers(items, both, hint),
            }
        if details:
            out[way]["changed"] = [
                {"q": items[i]["q"], "lang": items[i]["lang"], "rules": rules[i], "lingua": both[i]}
                for i in todo
                if both[i] != rules[i]
            ]
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=5, help="rounds of the timed calls")
    ap.add_argument("--details", action="store_true", help="list every text the fallback changed")
    ap.add_argument("--child", choices=CONFIGS, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        child(args.child, args.repeat)
        return 0
    from importlib.metadata import PackageNotFoundError, version

    try:
        lingua_version = version("lingua-language-detector")
    except PackageNotFoundError:
        print("lingua is not installed: pip install lingua-language-detector==2.1.1", file=sys.stderr)
        return 2
    items, sets = texts()
    todo = [i for i, item in enumerate(items) if unsure(item["q"])]
    report: dict = {"texts": len(items), "sets": sets, "latin_unsure": len(todo)}
    report["lingua"] = {"version": lingua_version, "configs": {}}
    for n, name in enumerate(CONFIGS):
        cost = measure(name, [items[i]["q"] for i in todo], args.repeat)
        found = compare(items, todo, cost.pop("answers"), details=args.details and n == 0)
        if n == 0:  # the configuration the brief asks about: every figure
            report |= found
        cost["all_rate"] = {way: f["rules_and_lingua"]["all"]["rate"] for way, f in found.items()}
        report["lingua"]["configs"][name] = cost
    report["rules_call_us_median"] = rules_call_us(items, args.repeat)
    print(json.dumps(report, ensure_ascii=False, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
