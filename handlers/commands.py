"""The command menus in Telegram: every language's (``setMyCommands``), set in the background and
retried, and the staff menus queued for removal (``deleteMyCommands``)."""

from __future__ import annotations

import asyncio
import logging

from telegram import BotCommand, BotCommandScopeChat
from telegram.error import BadRequest, TelegramError
from telegram.ext import Application, ContextTypes

from bot.store import backoff

log = logging.getLogger(__name__)

COMMANDS_RETRY_BASE = 2.0  # seconds: the command menu's first retry, doubling …
COMMANDS_RETRY_CAP = 900.0  # … up to 15 minutes


class CommandMenus:
    """The residents' command menu in every language of the dialogue."""

    def __init__(self, dialogue):
        self.dialogue = dialogue

    def schedule(self, app: Application, *, first: float = 0.0) -> None:
        """Set the command menu in a JobQueue job, retried with backoff until it is set.

        The menu is cosmetic: a refused or unreachable ``setMyCommands`` must not keep the bot
        from serving. Each language is its own call; those that failed are tried again after
        ``COMMANDS_RETRY_BASE`` seconds, doubling with jitter up to ``COMMANDS_RETRY_CAP``."""
        app.job_queue.run_once(
            self._commands_job, when=first, data={"langs": None, "attempt": 0}, name="command-menu"
        )

    async def _commands_job(self, context: ContextTypes.DEFAULT_TYPE) -> None:
        state = context.job.data
        failed = await self.set_commands(context.application, state["langs"])
        if failed:
            attempt = state["attempt"] + 1
            wait = backoff.delay(attempt, base=COMMANDS_RETRY_BASE, cap=COMMANDS_RETRY_CAP)
            log.warning(
                "the command menu is not set for %d of its languages; trying again in %.0f s",
                len(failed), wait,
            )  # fmt: skip
            context.job_queue.run_once(
                self._commands_job, when=wait, data={"langs": failed, "attempt": attempt}, name="command-menu"
            )
        elif state["attempt"]:
            log.info("the command menu is set")

    async def set_commands(self, app: Application, langs: list[str | None] | None = None) -> list[str | None]:
        """The command menu in every language (``setMyCommands(language_code=…)``; ``None``: the
        default menu, in the default language). Returns the languages that failed."""
        bot = app.bot
        failed: list[str | None] = []
        for lang in [None, *self.dialogue.languages] if langs is None else langs:
            menu = self.dialogue.command_menu(lang or self.dialogue.default_language)
            commands = [BotCommand(c, d) for c, d in menu]
            try:
                if lang is None:
                    await bot.set_my_commands(commands)
                else:
                    await bot.set_my_commands(commands, language_code=lang)
            except TelegramError as exc:
                log.warning("setMyCommands (%s) failed: %s", lang or "default", type(exc).__name__)
                failed.append(lang)
        return failed


async def reset_menus(bot, directory) -> int:
    """``deleteMyCommands`` for each chat in ``directory.menu_resets()``; see
    ``handlers.frontend.TelegramFrontend.reset_menus``. Also used by ``ankommen staff remove`` with a token."""
    done = 0
    for chat_id in await asyncio.to_thread(directory.menu_resets):
        try:
            await bot.delete_my_commands(scope=BotCommandScopeChat(chat_id))
        except BadRequest as exc:
            if "chat not found" not in str(exc).lower():
                log.warning("could not remove a staff command menu: %s", type(exc).__name__)
                continue
        except TelegramError as exc:
            log.warning("could not remove a staff command menu: %s; trying again later", type(exc).__name__)
            continue
        await asyncio.to_thread(directory.menu_reset_done, chat_id)
        done += 1
    return done
