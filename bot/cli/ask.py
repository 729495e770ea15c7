"""``ankommen ask`` and ``ankommen measures``: the catalog from the command line (one question, or
JSON lines for the evaluation in ``bench/``; the measures with their current status)."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable


def register(sub) -> dict[str, Callable[..., int]]:
    ask = sub.add_parser("ask", help="search the measures and offers for one question")
    ask.add_argument("text", nargs="?", help="the question")
    ask.add_argument("--lang", help="answer in this language (default: detected from the question)")
    ask.add_argument("--limit", type=int, default=5, help="at most this many results (default 5)")
    ask.add_argument("--json", action="store_true", help="print one JSON object")
    ask.add_argument(
        "--jsonl",
        action="store_true",
        help='read JSON lines {"query": ..., "lang": ...} from stdin, write one JSON line each',
    )

    measures = sub.add_parser("measures", help="list the measures with their current status")
    measures.add_argument("--field", type=int, choices=range(1, 8), metavar="N", help="only field N (1-7)")
    measures.add_argument("--json", action="store_true", help="print a JSON list")
    return {"ask": _ask, "measures": _measures}


def _ask_one(core, query: str, lang: str | None, limit: int) -> dict:
    from bot.residents.answers import answer, as_json, query_language

    used = query_language(query, lang, core.settings.default_language)
    ans = answer(core.catalog, query, used, limit=limit)
    return {"query": query, "lang": used, "results": as_json(core.catalog, ans, limit=limit)}


def _ask(args, settings) -> int:
    from bot.cli.wiring import open_core
    from bot.languages import SUPPORTED_LANGUAGES

    if args.lang and args.lang not in SUPPORTED_LANGUAGES:
        print(f"ankommen: --lang must be one of {', '.join(SUPPORTED_LANGUAGES)}", file=sys.stderr)
        return 2
    if args.limit < 1:
        print("ankommen: --limit must be at least 1", file=sys.stderr)
        return 2
    if not args.jsonl and not args.text:
        print("ankommen: give a question, or --jsonl to read questions from stdin", file=sys.stderr)
        return 2
    core = open_core(settings, sync_content=None)
    if args.jsonl:
        for number, line in enumerate(sys.stdin, 1):
            line = line.strip()
            if not line:
                continue
            try:
                item = json.loads(line)
                query = item["query"]
                lang = item.get("lang") or args.lang
                if not isinstance(query, str) or (lang is not None and lang not in SUPPORTED_LANGUAGES):
                    raise ValueError
            except (ValueError, KeyError, TypeError, AttributeError):
                print(
                    json.dumps({"error": f'line {number}: expected {{"query": str, "lang": optional code}}'}),
                    flush=True,
                )
                continue
            print(json.dumps(_ask_one(core, query, lang, args.limit), ensure_ascii=False), flush=True)
        return 0
    result = _ask_one(core, args.text, args.lang, args.limit)
    if args.json:
        print(json.dumps(result, ensure_ascii=False, indent=2))
        return 0
    if not result["results"]:
        print("No confident match. General counselling: 7.2 social counselling, 2.1 migration counselling.")
        return 0
    for r in result["results"]:
        print(f"{r['measure'] or '-':>6}  {r['kind']:<8}  {r['score']:>7.2f}  {r['title']}")
    return 0


def _measures(args, settings) -> int:
    from bot.cli.wiring import open_core

    core = open_core(settings, sync_content=None)
    statuses = core.catalog.all_statuses()
    rows = []
    for m in core.catalog.measures.values():
        if args.field and m.field_number != args.field:
            continue
        st = statuses.get(m.number)
        rows.append(
            {
                "number": m.number,
                "note": m.note,
                "field": m.field_number,
                "text_de": m.text_de,
                "responsible": m.responsible_de,
                "status": st.status if st else None,
                "status_reported_at": st.reported_at.isoformat() if st else None,
            }
        )
    if args.json:
        print(json.dumps(rows, ensure_ascii=False, indent=2))
        return 0
    for r in rows:
        number = f"{r['number']} {r['note']}" if r["note"] else r["number"]
        print(f"{number:<9} field {r['field']}  [{r['status'] or 'no report'}]")
        print(f"          {r['text_de']}")
        print(f"          Verantwortlich: {r['responsible']}")
    return 0
