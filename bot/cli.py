"""``ankommen``: the command line, and the composition root.

It is the one place that reads the settings and wires the store, the core and (for ``run``) the
Telegram layer.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

from bot import paths, staff_cli

log = logging.getLogger("ankommen")


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="ankommen",
        description="Ankommen: the integration concept of the City of Magdeburg as a multilingual chat.",
    )
    p.add_argument(
        "--now",
        dest="clock_now",
        type=staff_cli._iso_time,
        metavar="TIME",
        help="run as if it were this moment (ISO 8601), for every part of the command; "
        "overrides ANKOMMEN_NOW (default: the real time)",
    )
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    run = sub.add_parser("run", help="the main job: the Telegram bot with a token, else the console chat")
    run.add_argument("--lang", help="console chat: start in this language")

    chat = sub.add_parser("chat", help="an interactive console conversation")
    chat.add_argument("--lang", help="start in this language (default: ANKOMMEN_DEFAULT_LANGUAGE)")

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

    imp = sub.add_parser("import", help="import data/ into the store (idempotent)")
    imp.add_argument(
        "dir", nargs="?", type=Path, help="the data directory (default: ANKOMMEN_DATA_DIR or data/)"
    )

    data = sub.add_parser("data", help="work on the content in data/")
    data_sub = data.add_subparsers(dest="data_command", required=True, metavar="SUBCOMMAND")
    check = data_sub.add_parser("check", help="validate data/ and name the file and entry at fault")
    check.add_argument("dir", nargs="?", type=Path, help="the data directory")
    check.add_argument(
        "--seed",
        type=Path,
        default=None,
        help=f"also compare with the seed document (default when present: {paths.SEED_FILE})",
    )

    stamp = data_sub.add_parser(
        "stamp", help="record that the translations match the current German text (after a review)"
    )
    stamp.add_argument("dir", nargs="?", type=Path, help="the data directory")
    stamp.add_argument("--lang", action="append", help="only this language (repeatable)")

    gaps = sub.add_parser("gaps", help="questions residents asked that found no confident answer, grouped")
    gaps.add_argument("--since", type=_date_arg, help="only since this date (YYYY-MM-DD, UTC)")
    gaps.add_argument("--json", action="store_true", help="print a JSON list")

    feedback = sub.add_parser("feedback", help="👍/👎 votes per measure and offer")
    feedback.add_argument("--json", action="store_true", help="print a JSON list")

    dbp = sub.add_parser("db", help="the store's schema")
    db_sub = dbp.add_subparsers(dest="db_command", required=True, metavar="SUBCOMMAND")
    db_sub.add_parser("upgrade", help="apply the Alembic migrations")
    db_sub.add_parser("current", help="print the schema revision of the store")

    texts = sub.add_parser("texts", help="interface strings: the Babel extract/update/compile cycle")
    texts_sub = texts.add_subparsers(dest="texts_command", required=True, metavar="SUBCOMMAND")
    texts_sub.add_parser("update", help="extract messages to locales/messages.pot and update every catalog")
    texts_sub.add_parser("compile", help="compile every catalog to .mo (the bot also reads .po directly)")
    staff_cli.register(sub)

    from bot import newsletter_cli

    newsletter_cli.add_parser(sub)
    return p


def _date_arg(raw: str):
    from datetime import UTC, datetime

    try:
        return datetime.strptime(raw, "%Y-%m-%d").replace(tzinfo=UTC)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a date like 2026-11-01, got {raw!r}") from None


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    from bot.settings import Settings, SettingsError

    try:
        settings = Settings.from_env()
    except SettingsError as exc:
        print(f"ankommen: configuration error: {exc}", file=sys.stderr)
        return 2
    if args.clock_now is not None:
        settings = settings.model_copy(update={"now": args.clock_now})
    from bot import logs

    # No exception message, token or message text in any line (bot/logs.py).
    logs.configure(settings.log_level, sys.stderr)
    handler = COMMANDS[args.command]
    try:
        return handler(args, settings)
    except KeyboardInterrupt:
        return 130


def _cmd_run(args, settings) -> int:
    if settings.telegram_bot_token:
        from bot.services import open_core
        from handlers.app import run_bot  # the composition root wires the Telegram layer

        # PTB logs at DEBUG carry update contents; keep them at INFO or above.
        logging.getLogger("telegram").setLevel(max(logging.INFO, logging.getLogger().level))
        return run_bot(open_core(settings), settings)
    print(
        "No TELEGRAM_BOT_TOKEN is set, so Ankommen starts the console chat.\n"
        "To run the Telegram bot, create a bot with @BotFather and start again with\n"
        "  TELEGRAM_BOT_TOKEN=<token> ankommen run\n"
    )
    return _cmd_chat(args, settings)


def _cmd_chat(args, settings) -> int:
    from bot.console import ConsoleChat
    from bot.dialogue import MemoryPreferences
    from bot.services import open_core

    core = open_core(settings)
    chat = ConsoleChat(core.dialogue(MemoryPreferences()))
    return chat.run(suggested_language=args.lang)


def _ask_one(core, query: str, lang: str | None, limit: int) -> dict:
    from bot.answer import answer, as_json, query_language

    used = query_language(query, lang, core.settings.default_language)
    ans = answer(core.catalog, query, used, limit=limit)
    return {"query": query, "lang": used, "results": as_json(core.catalog, ans, limit=limit)}


def _cmd_ask(args, settings) -> int:
    from bot.languages import SUPPORTED_LANGUAGES
    from bot.services import open_core

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


def _cmd_measures(args, settings) -> int:
    from bot.services import open_core

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


def _cmd_gaps(args, settings) -> int:
    """Unanswered questions, then those a referral answered (per topic), then safety counts.

    Gaps are residents' words: every control or bidi character still in them is printed as an
    escape (bot/scrub.py), so no stored text can drive the operator's terminal."""
    from bot import db
    from bot.residents import gap_report, referral_topics, safety_counts
    from bot.scrub import printable, printable_json

    engine = db.make_engine(settings.database_url, busy_timeout=settings.db_busy_timeout)
    db.upgrade(engine)
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


def _cmd_feedback(args, settings) -> int:
    from bot.catalog import pick_text
    from bot.residents import vote_counts
    from bot.services import open_core

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


def _cmd_import(args, settings) -> int:
    from bot import db
    from bot.content import ContentError
    from bot.services import import_dir

    engine = db.make_engine(settings.database_url, busy_timeout=settings.db_busy_timeout)
    db.upgrade(engine)
    try:
        result = import_dir(engine, args.dir or settings.data_dir)
    except ContentError as exc:
        print("ankommen: data/ has problems; nothing was imported:", file=sys.stderr)
        for problem in exc.problems:
            print(f"  {problem}", file=sys.stderr)
        return 1
    print(result.summary() if result.changed else "The store already matches data/; nothing changed.")
    return 0


def _cmd_data(args, settings) -> int:
    from bot import content_checks
    from bot.content import check_against_seed, load_content

    root = args.dir or settings.data_dir
    content, problems = load_content(root)
    if args.data_command == "stamp":
        if problems:
            print("\n".join(map(str, problems)))
            return 1
        n = content_checks.stamp(root, content, args.lang or None)
        print(f"recorded the German fingerprint in {n} translated entries")
        return 0
    seed = args.seed or (paths.SEED_FILE if paths.SEED_FILE.exists() else None)
    if seed is not None and not problems:
        problems = check_against_seed(content, seed)
    glossary = content_checks.load_glossary(root)
    problems += content_checks.sourced_facts(root, settings.clock()().date())
    problems += content_checks.added_facts(content, glossary)
    for entity, key, lang in content_checks.outdated(content):
        print(f"outdated: i18n/{lang}/{entity}s.yaml: {key}: made from an older German text")
    for problem in problems:
        print(problem)
    if problems:
        print(f"{len(problems)} problem(s) in {root}", file=sys.stderr)
        return 1
    print(
        f"OK: {len(content.fields)} fields, {len(content.goals)} goals, {len(content.measures)} measures, "
        f"{len(content.organisations)} organisations, {len(content.offers)} offers, "
        f"languages {', '.join(content.languages)}" + (f"; matches the seed {seed}" if seed else "")
    )
    return 0


def _cmd_db(args, settings) -> int:
    from bot import db

    engine = db.make_engine(settings.database_url, busy_timeout=settings.db_busy_timeout)
    if args.db_command == "upgrade":
        db.upgrade(engine)
        print(f"The store is at revision {db.current_revision(engine)} ({settings.redacted_database_url()}).")
    else:
        print(db.current_revision(engine) or "empty (run 'ankommen db upgrade')")
    return 0


def _cmd_texts(args, settings) -> int:
    from bot.texts import compile_catalogs, update_catalogs

    if args.texts_command == "update":
        return update_catalogs()
    return compile_catalogs()


def _cmd_newsletter(args, settings) -> int:
    from bot import newsletter_cli

    return newsletter_cli.run(args, settings)


COMMANDS = {
    "newsletter": _cmd_newsletter,
    "run": _cmd_run,
    "chat": _cmd_chat,
    "ask": _cmd_ask,
    "measures": _cmd_measures,
    "import": _cmd_import,
    "gaps": _cmd_gaps,
    "feedback": _cmd_feedback,
    "data": _cmd_data,
    "db": _cmd_db,
    "texts": _cmd_texts,
    "staff": staff_cli.cmd_staff,
    "reminders": staff_cli.cmd_reminders,
    "report": staff_cli.cmd_report,
}

if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
