"""``ankommen run`` and ``ankommen chat``: the bot on Telegram, or the conversation on the console."""

from __future__ import annotations

import logging
from collections.abc import Callable


def register(sub) -> dict[str, Callable[..., int]]:
    run = sub.add_parser("run", help="the main job: the Telegram bot with a token, else the console chat")
    run.add_argument("--lang", help="console chat: start in this language")

    chat = sub.add_parser("chat", help="an interactive console conversation")
    chat.add_argument("--lang", help="start in this language (default: ANKOMMEN_DEFAULT_LANGUAGE)")
    return {"run": _run, "chat": _chat}


def _run(args, settings) -> int:
    if settings.telegram_bot_token:
        from bot.cli.wiring import open_core
        from handlers.app import run_bot  # the composition root wires the Telegram layer

        # PTB logs at DEBUG carry update contents; keep them at INFO or above.
        logging.getLogger("telegram").setLevel(max(logging.INFO, logging.getLogger().level))
        return run_bot(open_core(settings), settings)
    print(
        "No TELEGRAM_BOT_TOKEN is set, so Ankommen starts the console chat.\n"
        "To run the Telegram bot, create a bot with @BotFather and start again with\n"
        "  TELEGRAM_BOT_TOKEN=<token> ankommen run\n"
    )
    return _chat(args, settings)


def _chat(args, settings) -> int:
    from bot.cli.console import ConsoleChat
    from bot.cli.wiring import open_core
    from bot.residents.ports import MemoryPreferences

    core = open_core(settings)
    chat = ConsoleChat(core.conversation(core.dialogue(MemoryPreferences())))
    return chat.run(suggested_language=args.lang)
