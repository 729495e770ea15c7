"""``ankommen import`` and ``ankommen data check|stamp``: the content in ``data/``, checked
(``bot/content/validate.py``, ``bot/content/checks.py``) and imported into the store."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

from bot import paths


def register(sub) -> dict[str, Callable[..., int]]:
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
    return {"import": _import, "data": _data}


def _import(args, settings) -> int:
    from bot.cli.wiring import import_dir, open_store
    from bot.content.load import ContentError

    engine = open_store(settings)
    try:
        result = import_dir(engine, args.dir or settings.data_dir)
    except ContentError as exc:
        print("ankommen: data/ has problems; nothing was imported:", file=sys.stderr)
        for problem in exc.problems:
            print(f"  {problem}", file=sys.stderr)
        return 1
    print(result.summary() if result.changed else "The store already matches data/; nothing changed.")
    return 0


def _data(args, settings) -> int:
    from bot.content import checks as content_checks
    from bot.content.load import load_content
    from bot.content.validate import check_against_seed

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
