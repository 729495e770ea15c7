"""``ankommen newsletter …``: draft, preview, schedule, send, cancel, status, list.

Wired into ``bot/cli/__init__.py`` (the composition root) by ``register``. Bad input (a malformed
draft, an unknown id, a wrong state) gets one clear line on stderr, exit code 1, and changes
nothing. ``send`` delivers in this process (``bot/cli/newsletter_send.py``) with a progress bar on
stderr and progress lines in the log; if the bot is running too, both deliver side by side without
sending anything twice, within one ``ANKOMMEN_NEWSLETTER_RATE`` together (the shared budget of
``bot/store/budget.py``; see ``bot/newsletters/outbox.py``).
"""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from bot.chat.markup import SplitError, plain_text, split_html
from bot.cli.newsletter_send import deliver_now_or_leave, status_text


def register(sub) -> dict[str, Callable[..., int]]:
    nl = sub.add_parser("newsletter", help="newsletter issues: draft, preview, schedule, send, status")
    cmds = nl.add_subparsers(dest="newsletter_command", required=True, metavar="SUBCOMMAND")
    draft = cmds.add_parser("draft", help="store a draft from a Markdown file with front matter")
    draft.add_argument("file", type=Path)
    preview = cmds.add_parser("preview", help="show an issue as a subscriber in LANG gets it")
    preview.add_argument("id", type=int)
    preview.add_argument("--lang", required=True, help="the subscriber's language")
    preview.add_argument("--chat", type=int, help="also send the preview to this Telegram chat id")
    sched = cmds.add_parser("schedule", help="send an issue at a time")
    sched.add_argument("id", type=int)
    sched.add_argument(
        "--at", required=True, help="'YYYY-MM-DD HH:MM' in ANKOMMEN_TIMEZONE, or ISO 8601 with an offset"
    )
    send = cmds.add_parser("send", help="send an issue now (also: release a held one, resume a send)")
    send.add_argument("id", type=int)
    send.add_argument(
        "--no-wait", action="store_true", help="only start it; the running bot delivers (JobQueue tick)"
    )
    resend = cmds.add_parser(
        "resend-unknown",
        help="send again the deliveries whose outcome is unknown (some may then arrive twice)",
    )
    resend.add_argument("id", type=int)
    resend.add_argument(
        "--no-wait", action="store_true", help="only queue them; the running bot delivers (JobQueue tick)"
    )
    cancel = cmds.add_parser("cancel", help="cancel an issue not yet sent (stops a running send)")
    cancel.add_argument("id", type=int)
    status = cmds.add_parser("status", help="deliveries of an issue, per state and per language")
    status.add_argument("id", type=int)
    status.add_argument("--json", action="store_true")
    lst = cmds.add_parser("list", help="all issues")
    lst.add_argument("--json", action="store_true")
    return {"newsletter": run}


def _fail(message: str, code: int = 1) -> int:
    print(f"ankommen: {message}", file=sys.stderr)
    return code


def run(args, settings) -> int:
    from bot.newsletters.drafts import DraftError
    from bot.newsletters.issues import IssueError

    try:
        return COMMANDS[args.newsletter_command](args, settings)
    except (DraftError, IssueError) as exc:
        return _fail(str(exc))


def _engine(settings):
    from bot.cli.wiring import open_store

    return open_store(settings)


def _draft(args, settings) -> int:
    from bot.newsletters.definitions import load_definitions
    from bot.newsletters.drafts import DraftError, parse_draft
    from bot.newsletters.issues import create_issue

    try:
        text = args.file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return _fail(f"cannot read {args.file} as UTF-8 text")
    try:
        draft = parse_draft(text, load_definitions(settings.data_dir), base_dir=args.file.parent)
    except DraftError as exc:
        return _fail(f"the draft cannot be used: {exc}. Nothing was stored.")
    issue_id = create_issue(_engine(settings), draft)
    image = f", image {draft.image_name}" if draft.image else ""
    print(
        f"Draft {issue_id} of newsletter {draft.newsletter} stored: languages {', '.join(draft.texts)}{image}.\n"
        f"Preview it with: ankommen newsletter preview {issue_id} --lang de"
    )
    return 0


def _preview(args, settings) -> int:
    from bot.cli.wiring import open_core
    from bot.languages import SUPPORTED_LANGUAGES
    from bot.newsletters.issues import get_issue
    from bot.newsletters.outbox import issue_renderer

    if args.lang not in SUPPORTED_LANGUAGES:
        return _fail(f"--lang must be one of {', '.join(SUPPORTED_LANGUAGES)}")
    if args.chat is not None and not settings.telegram_bot_token:
        return _fail("--chat needs TELEGRAM_BOT_TOKEN", 2)
    core = open_core(settings, sync_content=None)
    issue = get_issue(core.engine, args.id)
    if args.lang not in issue.texts and settings.newsletter_missing_language == "skip":
        print(
            f"Issue {issue.id} has no {args.lang} text; subscribers in {args.lang} are skipped "
            "(ANKOMMEN_NEWSLETTER_MISSING_LANGUAGE=skip)."
        )
        return 0
    reply, attachment = issue_renderer(core.dialogue())(issue, args.lang)
    if attachment is not None:
        print(f"[photo: {attachment.filename}, {len(attachment.data)} bytes; the text is its caption]")
        parts = [reply.html]
    else:
        try:  # the split the subscribers get (handlers/sender.py sends exactly these parts)
            parts = split_html(reply.html)
        except SplitError as exc:
            return _fail(f"issue {issue.id} cannot be sent to {args.lang} subscribers: {exc}")
    for i, part in enumerate(parts, 1):
        if len(parts) > 1:
            print(f"--- message {i} of {len(parts)} ---")
        print(plain_text(part))
    print("  ".join(f"[{b.label}]" for row in reply.buttons for b in row))
    if args.chat is None:
        return 0
    from handlers.bots import outbox_bot
    from handlers.sender import BotSender

    async def send():
        bot = outbox_bot(settings.telegram_bot_token, settings.telegram_api_base_url, concurrency=1)
        async with bot:
            sender = BotSender(bot)
            if attachment is not None:
                return await sender.send_file(args.chat, attachment, reply.html, buttons=reply.buttons)
            return await sender.send(args.chat, reply)

    result = asyncio.run(send())
    if not result.ok:
        return _fail(f"the preview was not sent: {result.outcome.value} {result.detail}".rstrip())
    print(f"Preview sent to chat {args.chat}.")
    return 0


def _parse_time(raw: str, timezone: str) -> datetime:
    from bot.newsletters.issues import IssueError

    try:
        at = datetime.fromisoformat(raw.strip().replace(" ", "T", 1))
    except ValueError:
        raise IssueError(f"--at: expected a time like '2026-12-01 09:00', got {raw!r}") from None
    if at.tzinfo is None:
        at = at.replace(tzinfo=ZoneInfo(timezone))
    return at


def _schedule(args, settings) -> int:
    from bot.newsletters.issues import schedule

    at = _parse_time(args.at, settings.timezone)
    schedule(_engine(settings), args.id, at)
    local = at.astimezone(ZoneInfo(settings.timezone))
    print(f"Issue {args.id} is scheduled for {local:%Y-%m-%d %H:%M} ({settings.timezone}).")
    return 0


def _cancel(args, settings) -> int:
    from bot.newsletters.issues import cancel

    stopped = cancel(_engine(settings), args.id)
    print(f"Issue {args.id} is cancelled" + (f"; {stopped} deliveries will not be sent." if stopped else "."))
    return 0


def _send(args, settings) -> int:
    from bot.newsletters.issues import get_issue, start_sending

    if not args.no_wait and not settings.telegram_bot_token:
        return _fail(
            "sending needs TELEGRAM_BOT_TOKEN (or use --no-wait to leave it to the running bot); "
            "nothing was changed",
            2,
        )
    engine = _engine(settings)
    issue = get_issue(engine, args.id)
    if issue.state not in ("draft", "scheduled", "held", "sending"):
        return _fail(f"issue {args.id} is {issue.state} and cannot be sent")
    created = start_sending(engine, args.id, missing_language=settings.newsletter_missing_language)
    if created:
        print(f"Issue {args.id}: {created} deliveries queued.", file=sys.stderr)
    return deliver_now_or_leave(args, settings, engine)


def _resend_unknown(args, settings) -> int:
    from bot.newsletters.issues import resend_unknown

    if not args.no_wait and not settings.telegram_bot_token:
        return _fail("resending needs TELEGRAM_BOT_TOKEN (or use --no-wait); nothing was changed", 2)
    engine = _engine(settings)
    queued = resend_unknown(engine, args.id)
    if not queued:
        print(f"Issue {args.id} has no deliveries with an unknown outcome; nothing to do.")
        return 0
    print(
        f"Issue {args.id}: {queued} deliveries with an unknown outcome queued again; "
        "those of them that did arrive will arrive twice.",
        file=sys.stderr,
    )
    return deliver_now_or_leave(args, settings, engine)


def _status(args, settings) -> int:
    from bot.newsletters.stats import status

    s = status(_engine(settings), args.id)
    print(json.dumps(s, ensure_ascii=False, indent=2) if args.json else status_text(s))
    return 0


def _list(args, settings) -> int:
    from bot.newsletters.stats import list_issues

    issues = list_issues(_engine(settings))
    if args.json:
        print(json.dumps(issues, ensure_ascii=False, indent=2))
        return 0
    if not issues:
        print("No issues yet. Start with: ankommen newsletter draft FILE")
    for i in issues:
        when = f"  at {i['scheduled_at']}" if i["scheduled_at"] else ""
        print(f"{i['id']:>5}  {i['newsletter']:<6} {i['state']:<10} {','.join(i['languages'])}{when}")
    return 0


COMMANDS = {
    "draft": _draft,
    "preview": _preview,
    "schedule": _schedule,
    "send": _send,
    "cancel": _cancel,
    "resend-unknown": _resend_unknown,
    "status": _status,
    "list": _list,
}
