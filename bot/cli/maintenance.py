"""``ankommen db`` and ``ankommen texts``: upkeep at deploy and release time, the store's schema
(Alembic) and the catalogs of the interface strings (Babel, ``bot/cli/texts.py``)."""

from __future__ import annotations

from collections.abc import Callable


def register(sub) -> dict[str, Callable[..., int]]:
    dbp = sub.add_parser("db", help="the store's schema")
    db_sub = dbp.add_subparsers(dest="db_command", required=True, metavar="SUBCOMMAND")
    db_sub.add_parser("upgrade", help="apply the Alembic migrations")
    db_sub.add_parser("current", help="print the schema revision of the store")

    texts = sub.add_parser("texts", help="interface strings: the Babel extract/update/compile cycle")
    texts_sub = texts.add_subparsers(dest="texts_command", required=True, metavar="SUBCOMMAND")
    texts_sub.add_parser("update", help="extract messages to locales/messages.pot and update every catalog")
    texts_sub.add_parser("compile", help="compile every catalog to .mo (the bot also reads .po directly)")
    return {"db": _db, "texts": _texts}


def _db(args, settings) -> int:
    from bot.cli.wiring import open_store
    from bot.store import db

    engine = open_store(settings, migrate=args.db_command == "upgrade")
    if args.db_command == "upgrade":
        print(f"The store is at revision {db.current_revision(engine)} ({settings.redacted_database_url()}).")
    else:
        print(db.current_revision(engine) or "empty (run 'ankommen db upgrade')")
    return 0


def _texts(args, settings) -> int:
    from bot.cli.texts import compile_catalogs, update_catalogs

    if args.texts_command == "update":
        return update_catalogs()
    return compile_catalogs()
