"""``ankommen staff …``, ``ankommen reminders tick`` and ``ankommen report``: the CLI of the
status loop. Wired into ``bot.cli`` (the composition root), which passes the settings."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from datetime import UTC, date, datetime
from pathlib import Path

from bot.models import Role
from bot.staff.schedule import parse_cadence


def _iso_time(raw: str) -> datetime:
    try:
        moment = datetime.fromisoformat(raw)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected an ISO time like 2026-12-01T09:05+01:00, got {raw!r}"
        ) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _day(raw: str) -> date:
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a date like 2026-12-31, got {raw!r}") from None


def register(sub) -> dict:
    staff = sub.add_parser("staff", help="staff who report on measures: add, assign, invite, list, import")
    ss = staff.add_subparsers(dest="staff_command", required=True, metavar="SUBCOMMAND")
    add = ss.add_parser("add", help="add a staff member (prints the new ID)")
    add.add_argument("--name", required=True)
    add.add_argument("--org", required=True, help="the organisation (e.g. Sozial- und Wohnungsamt)")
    add.add_argument("--role", choices=[r.value for r in Role], default=Role.STAFF.value)
    add.add_argument("--lang", default="de", help="the language of their messages (default de)")
    add.add_argument(
        "--deputy", type=int, metavar="ID", help="the staff member who stands in while they are away"
    )
    assign = ss.add_parser("assign", help="assign measures to a staff member")
    assign.add_argument("id", type=int)
    assign.add_argument("--measures", required=True, help="comma-separated, e.g. 4.3,4.14")
    unassign = ss.add_parser("unassign", help="take measures away from a staff member")
    unassign.add_argument("id", type=int)
    unassign.add_argument("--measures", required=True)
    ss.add_parser("list", help="list staff, their roles, links and measures").add_argument(
        "--json", action="store_true"
    )
    imp = ss.add_parser(
        "import", help="add or update staff from a CSV (name,organisation,role,language,measures)"
    )
    imp.add_argument("file", type=Path)
    inv = ss.add_parser(
        "invite",
        help="print a one-time deep link that links the person's Telegram chat (or --revoke the open ones)",
        description="Needs TELEGRAM_BOT_USERNAME or TELEGRAM_BOT_TOKEN (the link names the bot). "
        "Linking with one link voids the person's other open links.",
    )
    inv.add_argument("id", type=int)
    inv.add_argument("--days", type=int, help="valid for this many days (default ANKOMMEN_INVITE_DAYS, 14)")
    inv.add_argument(
        "--revoke", action="store_true", help="void every open link of this person instead (prints how many)"
    )
    rm = ss.add_parser("remove", help="erase a staff member's personal data (their status records stay)")
    rm.add_argument("id", type=int)
    dep = ss.add_parser("deputy", help="set (or with --none clear) a staff member's deputy")
    dep.add_argument("id", type=int)
    g = dep.add_mutually_exclusive_group(required=True)
    g.add_argument("--deputy", type=int, metavar="ID")
    g.add_argument("--none", action="store_true")
    away = ss.add_parser("away", help="mark a staff member away until a date (or --back)")
    away.add_argument("id", type=int)
    g = away.add_mutually_exclusive_group(required=True)
    g.add_argument("--until", type=_day)
    g.add_argument("--back", action="store_true")
    cad = ss.add_parser(
        "cadence", help="set a measure's reporting cadence (or --default to use the global one)"
    )
    cad.add_argument("measure")
    g = cad.add_mutually_exclusive_group(required=True)
    g.add_argument("--every", help="monthly, quarterly, halfyearly, yearly or 1-24 (months)")
    g.add_argument("--default", action="store_true")

    rem = sub.add_parser("reminders", help="the status loop: prompts, reminders, escalations")
    rs = rem.add_subparsers(dest="reminders_command", required=True, metavar="SUBCOMMAND")
    tick = rs.add_parser("tick", help="run one tick now (the running bot ticks every minute)")
    tick.add_argument(
        "--now",
        type=_iso_time,
        help="pretend it is this time (ISO 8601; default: the clock, see ankommen --now)",
    )
    tick.add_argument("--dry-run", action="store_true", help="only scan: create due prompts, send nothing")

    rep = sub.add_parser("report", help="the implementation report (measure 7.16)")
    rep.add_argument("--format", choices=("html", "md", "csv"), default="html")
    rep.add_argument("--out", type=Path, required=True, help="the file to write")
    rep.add_argument("--since", type=_day, help="history since this date (YYYY-MM-DD)")
    rep.add_argument("--now", type=_iso_time, help=argparse.SUPPRESS)
    return {"staff": cmd_staff, "reminders": cmd_reminders, "report": cmd_report}


def _fail(message: str) -> int:
    print(f"ankommen: {message}", file=sys.stderr)
    return 2


def cmd_staff(args, settings) -> int:
    from bot.cli.wiring import open_core
    from bot.staff.errors import StaffError

    core = open_core(settings, sync_content=None)
    directory = core.staff_directory()
    try:
        return _staff(args, settings, directory)
    except StaffError as exc:
        return _fail(str(exc))
    finally:
        core.engine.dispose()


def _staff(args, settings, directory) -> int:
    c = args.staff_command
    if c == "add":
        member = directory.add(args.name, args.org, role=args.role, language=args.lang, deputy_id=args.deputy)
        print(f"added staff member {member.id}: {member.name} ({member.organisation}), {member.role}")
        print(
            f"next: ankommen staff assign {member.id} --measures 4.14   and   ankommen staff invite {member.id}"
        )
        return 0
    if c == "assign":
        new = directory.assign(args.id, directory.parse_measures(args.measures))
        print(
            f"staff member {args.id}: {len(new)} new measure(s) assigned"
            + (f": {', '.join(new)}" if new else "")
        )
        return 0
    if c == "unassign":
        n = directory.unassign(args.id, directory.parse_measures(args.measures))
        print(f"staff member {args.id}: {n} measure(s) unassigned")
        return 0
    if c == "list":
        return _list(args, directory)
    if c == "import":
        added, updated = directory.import_csv(args.file)
        print(f"staff import: {added} added, {updated} updated")
        return 0
    if c == "invite":
        return _invite(args, settings, directory)
    if c == "remove":
        directory.remove(args.id)
        print(
            f"staff member {args.id}: removed (name, chat link, invites, assignments, open requests and "
            "newsletter composing erased; their status records stay in the report)"
        )
        print(_menu_resets(settings, directory))
        return 0
    if c == "deputy":
        directory.set_deputy(args.id, None if args.none else args.deputy)
        print(f"staff member {args.id}: deputy {'cleared' if args.none else args.deputy}")
        return 0
    if c == "away":
        directory.set_away(args.id, None if args.back else args.until)
        print(f"staff member {args.id}: " + ("back" if args.back else f"away until {args.until.isoformat()}"))
        return 0
    if c == "cadence":
        months = None
        if not args.default:
            try:
                months = parse_cadence(args.every)
            except ValueError as exc:
                return _fail(str(exc))
        directory.set_cadence(args.measure, months)
        print(f"measure {args.measure}: " + (f"every {months} month(s)" if months else "the global cadence"))
        return 0
    return _fail(f"unknown staff command {c}")


def _list(args, directory) -> int:
    rows = directory.list()
    if args.json:
        print(
            json.dumps(
                [{**r.__dict__, "away_until": r.away_until and r.away_until.isoformat()} for r in rows]
            )
        )
        return 0
    if not rows:
        print("no staff yet: ankommen staff add --name … --org …")
    for r in rows:
        extra = []
        if r.deputy_id:
            extra.append(f"deputy {r.deputy_id}")
        if r.away_until:
            extra.append(f"away until {r.away_until.isoformat()}")
        print(
            f"{r.id:>4}  {r.name} ({r.organisation})  {r.role}, {r.language}, "
            f"{'linked' if r.linked else 'not linked'}{', ' + ', '.join(extra) if extra else ''}"
            f"\n      measures: {', '.join(r.measures) or '–'}"
        )
    return 0


def _invite(args, settings, directory) -> int:
    """A one-time deep link for the person's Telegram chat, or --revoke their open ones."""
    from handlers.bots import bot_username

    member = directory.get(args.id)
    if member is None:
        return _fail(f"there is no staff member {args.id}")
    if args.revoke:
        n = directory.revoke_invites(args.id)
        print(f"staff member {args.id}: {n} open invitation link(s) revoked")
        return 0
    if not settings.bot_username and not settings.telegram_bot_token:
        return _fail("set TELEGRAM_BOT_USERNAME (or TELEGRAM_BOT_TOKEN) so the link can name the bot")
    try:
        username = asyncio.run(bot_username(settings))
    except Exception as exc:  # noqa: BLE001 - network or token trouble: say so, briefly
        return _fail(
            f"could not ask Telegram for the bot's name ({type(exc).__name__}); set TELEGRAM_BOT_USERNAME"
        )
    days = args.days or settings.invite_days
    code = directory.invite(args.id, days=days)
    print(f"https://t.me/{username}?start={code}")
    print(
        f"(for {member.name}; works once, for {days} days; only its hash is stored; linking with it "
        "voids the person's other open links)",
        file=sys.stderr,
    )
    return 0


def _menu_resets(settings, directory) -> str:
    """Remove queued staff command menus from Telegram now if there is a token; else they wait
    in the store for the running bot (its next status tick, within a minute) or its next start."""
    pending = directory.menu_resets()
    if not pending:
        return "no Telegram command menu to remove (the person was not linked)"
    later = "the running bot removes it at its next status tick (within a minute) or its next start"
    if not settings.telegram_bot_token:
        return f"their staff command menu in Telegram: no TELEGRAM_BOT_TOKEN here, so {later}"
    from handlers.bots import cli_bot
    from handlers.commands import reset_menus

    async def run() -> int:
        async with cli_bot(settings) as bot:
            return await reset_menus(bot, directory)

    try:
        done = asyncio.run(run())
    except Exception as exc:  # noqa: BLE001 - network or token trouble: the queue keeps it
        return (
            f"their staff command menu in Telegram could not be removed now ({type(exc).__name__}); {later}"
        )
    if done < len(pending):
        return f"their staff command menu in Telegram could not be removed now; {later}"
    return "their staff command menu in Telegram is removed (deleteMyCommands)"


def cmd_reminders(args, settings) -> int:
    from bot.cli.wiring import open_core

    core = open_core(settings, sync_content=None)
    now = args.now or core.clock()
    loop = core.status_loop(core.staff_desk(clock=lambda: now))
    try:
        if args.dry_run:
            created = loop.store.scan(now)
            print(json.dumps({"now": now.isoformat(), "created": created, "sent": 0}))
            return 0
        if not settings.telegram_bot_token:
            return _fail("TELEGRAM_BOT_TOKEN is needed to send prompts (or use --dry-run)")
        from handlers.bots import cli_bot
        from handlers.sender import BotSender

        async def run():
            async with cli_bot(settings) as bot:
                return await loop.tick(now, BotSender(bot))

        result = asyncio.run(run())
        print(json.dumps({"now": now.isoformat(), **result.as_dict()}))
        return 0
    finally:
        core.engine.dispose()


def cmd_report(args, settings) -> int:
    from bot.cli.wiring import open_core
    from bot.staff import report

    core = open_core(settings, sync_content=None)
    try:
        since = datetime.combine(args.since, datetime.min.time(), tzinfo=UTC) if args.since else None
        data = report.for_core(core, now=args.now or core.clock(), since=since)
        files = report.write(args.format, args.out, data, core.translations)
    except OSError as exc:
        return _fail(f"cannot write the report: {exc}")
    finally:
        core.engine.dispose()
    rows = data.rows
    print(
        f"report written: {', '.join(map(str, files))} ({len(rows)} measures, "
        f"{sum(r.status is not None for r in rows)} with a status, {sum(r.overdue for r in rows)} overdue, "
        f"{sum(r.stale for r in rows)} stale)"
    )
    return 0
