"""``ankommen link``: a resident's deep link and its QR code, for posters in counselling offices.

    ankommen link measure 4.14 --lang ar      https://t.me/<bot>?start=m_4-14_ar
    ankommen link offer housing-counselling   https://t.me/<bot>?start=o_housing-counselling
    ankommen link language uk                 https://t.me/<bot>?start=l_uk

It prints the link and writes its QR code as PNG and SVG (``--out``, default: the current
folder), named after the start parameter. Opening the link opens the card in the bot
(``bot.residents.links``); it is never taken for a staff invitation. The measure or offer must
exist in the content, so a poster never leads to nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Callable
from pathlib import Path

KINDS = ("measure", "offer", "language")


def register(sub) -> dict[str, Callable[..., int]]:
    p = sub.add_parser("link", help="a resident's deep link and its QR code (PNG, SVG) for a poster")
    p.add_argument("kind", choices=KINDS)
    p.add_argument("key", help="a measure number (4.14), an offer id, or a language code")
    p.add_argument("--lang", help="open the card in this language (unless the resident chose one)")
    p.add_argument("--out", type=Path, default=Path("."), help="folder for the QR code files")
    return {"link": cmd_link}


def _fail(message: str) -> int:
    print(f"ankommen link: {message}", file=sys.stderr)
    return 2


def _check(args: argparse.Namespace, catalog) -> str | None:
    """What is wrong with the request, or None."""
    languages = set(catalog.languages)
    if args.kind == "measure" and args.key not in catalog.measures:
        return f"there is no measure {args.key!r} in the content"
    if args.kind == "offer" and args.key not in catalog.offers:
        return f"there is no offer {args.key!r} in the content"
    if args.kind == "language" and args.key not in languages:
        return f"the language must be one of {', '.join(sorted(languages))}"
    if args.lang and args.lang not in languages:
        return f"--lang must be one of {', '.join(sorted(languages))}"
    return None


def cmd_link(args: argparse.Namespace, settings) -> int:
    import segno

    from bot.cli.wiring import open_core
    from bot.residents import links

    core = open_core(settings, sync_content=None)
    try:
        problem = _check(args, core.catalog)
    finally:
        core.engine.dispose()
    if problem:
        return _fail(problem)
    start = links.payload(args.kind, args.key, args.lang)
    username = settings.bot_username
    if not username:
        if not settings.telegram_bot_token:
            return _fail("set TELEGRAM_BOT_USERNAME (or TELEGRAM_BOT_TOKEN) so the link can name the bot")
        from handlers.bots import bot_username

        try:
            username = asyncio.run(bot_username(settings))
        except Exception as exc:  # noqa: BLE001 - network or token trouble: say so, briefly
            return _fail(f"could not ask Telegram for the bot's name ({type(exc).__name__})")
    url = f"https://t.me/{username}?start={start}"
    args.out.mkdir(parents=True, exist_ok=True)
    qr = segno.make(url, error="m")
    png, svg = args.out / f"{start}.png", args.out / f"{start}.svg"
    qr.save(png, scale=10, border=4)
    qr.save(svg, scale=10, border=4)
    print(url)
    print(f"QR code: {png} and {svg}", file=sys.stderr)
    return 0
