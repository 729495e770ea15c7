"""``ankommen gaps`` and ``ankommen feedback``: what residents left for the editors, the questions
that found no confident answer (scrubbed before they were stored) and the 👍/👎 votes."""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable


def register(sub) -> dict[str, Callable[..., int]]:
    gaps = sub.add_parser("gaps", help="questions residents asked that found no confident answer, grouped")
    gaps.add_argument("--since", type=_date_arg, help="only since this date (YYYY-MM-DD, UTC)")
    gaps.add_argument("--json", action="store_true", help="print a JSON list")

    feedback = sub.add_parser("feedback", help="👍/👎 votes per measure and offer")
    feedback.add_argument("--json", action="store_true", help="print a JSON list")
    return {"gaps": _gaps, "feedback": _feedback}


def _date_arg(raw: str):
    from datetime import UTC, datetime

    try:
        return datetime.strptime(raw, "%Y-%m-%d").replace(tzinfo=UTC)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a date like 2026-11-01, got {raw!r}") from None


def _gaps(args, settings) -> int:
    """Unanswered questions, then those a referral answered (per topic), then safety counts.

    Gaps are residents' words: every control or bidi character still in them is printed as an
    escape (bot/residents/scrub.py), so no stored text can drive the operator's terminal."""
    from bot.cli.wiring import open_store
    from bot.residents.scrub import printable, printable_json
    from bot.residents.store import gap_report, referral_topics, safety_counts

    engine = open_store(settings)
    sections = [(None, gap_report(engine, since=args.since))]
    for topic, _n in referral_topics(engine, since=args.since):
        sections.append((topic, gap_report(engine, since=args.since, topic=topic)))
    safety = safety_counts(engine, since=args.since)
    if args.json:
        rows = [
            {
                "topic": topic,
                "text": g.text,
                "count": g.count,
                "languages": g.languages,
                "first": g.first.isoformat(),
                "last": g.last.isoformat(),
            }
            for topic, groups in sections
            for g in groups
        ]
        rows += [{"safety": topic, "count": n} for topic, n in sorted(safety.items())]
        print(printable_json(json.dumps(rows, ensure_ascii=False, indent=2)))
        return 0
    since = f" since {args.since:%Y-%m-%d}" if args.since else ""
    for topic, groups in sections:
        if topic is None:
            print(f"Unanswered questions{since}:" if groups else f"No unanswered questions{since}.")
        else:
            print(
                f"\nAnswered by the referral '{topic}' (the concept has no measure for it): {sum(g.count for g in groups)}"
            )
        if groups:
            print(f"{'count':>5}  {'languages':<14} {'last seen':<10}  question")
        for g in groups:
            langs = ",".join(f"{k}:{v}" for k, v in sorted(g.languages.items()))
            print(f"{g.count:>5}  {printable(langs):<14} {g.last:%Y-%m-%d}  {printable(g.text)}")
    if safety:
        counts = ", ".join(f"{t}: {n}" for t, n in sorted(safety.items()))
        print(f"\nSafety cards shown{since} (counted per topic; the messages are never stored): {counts}")
    return 0


def _feedback(args, settings) -> int:
    from bot.cli.wiring import open_core
    from bot.content.catalog import pick_text
    from bot.residents.store import vote_counts

    core = open_core(settings, sync_content=None)
    counts = vote_counts(core.engine)
    rows = []
    for (entity, key), (up, down) in counts.items():
        if entity == "measure" and key in core.catalog.measures:
            title, measure = core.catalog.measures[key].text_de, key
        elif entity == "offer" and key in core.catalog.offers:
            offer = core.catalog.offers[key]
            t = pick_text(offer.texts, "de")
            title, measure = (t.title if t else key), offer.measures[0]
        else:
            title, measure = "(no longer in data/)", None
        rows.append({"kind": entity, "id": key, "measure": measure, "up": up, "down": down, "title": title})
    rows.sort(key=lambda r: (-(r["up"] + r["down"]), r["kind"], r["id"]))
    if args.json:
        print(json.dumps(rows, ensure_ascii=False, indent=2))
        return 0
    if not rows:
        print("No votes yet.")
        return 0
    print(f"{'👍':>4} {'👎':>4}  {'kind':<7} {'measure':<7} id")
    for r in rows:
        print(
            f"{r['up']:>4} {r['down']:>4}  {r['kind']:<7} {r['measure'] or '-':<7} {r['id']}  {r['title'][:60]}"
        )
    return 0
