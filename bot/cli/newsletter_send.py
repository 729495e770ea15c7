"""Delivering a newsletter issue from ``ankommen newsletter send|resend-unknown`` in this process:
the outbox worker with a progress bar on stderr, then the summary that ``status`` prints too."""

from __future__ import annotations

import asyncio
import sys


def deliver_now_or_leave(args, settings, engine) -> int:
    from bot.newsletters.stats import status

    if args.no_wait:
        print(f"Issue {args.id} is sending; the running bot delivers it.")
        return 0
    asyncio.run(_deliver(args.id, settings, engine))
    print(status_text(status(engine, args.id)))
    return 0


async def _deliver(issue_id: int, settings, engine) -> None:
    from bot.cli.wiring import open_core
    from bot.newsletters.stats import status
    from handlers.bots import outbox_bot
    from handlers.sender import BotSender

    core = open_core(settings, sync_content=None)
    progress = Progress(sys.stderr)
    try:
        async with outbox_bot(settings.telegram_bot_token, settings.telegram_api_base_url) as bot:
            outbox = core.outbox(BotSender(bot))
            run = asyncio.create_task(outbox.run(issue_ids=[issue_id], until_done=True))
            while not run.done():
                progress.show(await asyncio.to_thread(status, engine, issue_id))
                await asyncio.wait([run], timeout=0.5)
            await run
    finally:
        core.engine.dispose()
    progress.show(await asyncio.to_thread(status, engine, issue_id), final=True)


class Progress:
    """A one-line progress bar on a terminal; a line every few seconds when stderr is a file."""

    WIDTH = 30

    def __init__(self, stream):
        self.stream = stream
        self.tty = stream.isatty()
        self._last_line = 0.0

    def show(self, summary: dict, final: bool = False) -> None:
        import time

        total = summary["total"] or 1
        states = summary["states"]
        done = summary["total"] - sum(states.get(s, 0) for s in ("pending", "claimed", "sending"))
        filled = int(self.WIDTH * done / total)
        bar = "#" * filled + "-" * (self.WIDTH - filled)
        detail = " ".join(f"{k} {v}" for k, v in states.items())
        line = f"[{bar}] {done}/{summary['total']}  {detail}"
        if self.tty:
            self.stream.write("\r" + line.ljust(100) + ("\n" if final else ""))
            self.stream.flush()
        elif final or time.monotonic() - self._last_line >= 2.0:
            self._last_line = time.monotonic()
            self.stream.write(line + "\n")
            self.stream.flush()


def status_text(s: dict) -> str:
    lines = [f"Issue {s['id']} of newsletter {s['newsletter']}: {s['state']}, {s['total']} deliveries"]
    if s["scheduled_at"]:
        lines.append(f"  scheduled for {s['scheduled_at']}")
    lines.append("  " + (", ".join(f"{k} {v}" for k, v in s["states"].items()) or "no deliveries yet"))
    for lang, counts in s["languages"].items():
        written = "" if lang in s["languages_written"] else "  (no text in this language)"
        lines.append(f"  {lang}: " + ", ".join(f"{k} {v}" for k, v in counts.items()) + written)
    if s["states"].get("unknown"):
        lines.append(
            "  unknown: the request timed out or was in flight when a worker stopped; the message "
            "may have arrived, so it is never resent automatically."
        )
    return "\n".join(lines)
