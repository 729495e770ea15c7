"""The Telegram layer: python-telegram-bot 22 around the core dialogue.

Everything a resident reads comes from ``bot.residents.dialogue``; this module only maps updates to dialogue
calls and replies to Bot API calls:

* private chats: text is a question or a command; a button press is handled by the dialogue and
  the answer replaces the pressed message (further replies are sent as new messages); stickers,
  photos, voice, locations and edited messages get a one-line hint;
* groups: only commands addressed to the bot (``/help@AnkommenBot``) get an answer;
* a per-user limit (``ANKOMMEN_RATE_LIMIT`` a minute) answers the first excess message once and
  ignores the rest of the window;
* one error handler logs the traceback, alerts the coordinators' chat if configured (at most one
  alert a minute) and sends the user a one-line apology.

Logs never carry message text, and the token never appears in them (httpx logs are quietened by
the CLI; PTB logs stay at INFO or above).
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
import warnings
from collections.abc import Callable

from telegram import (
    BotCommand,
    BotCommandScopeChat,
    Message,
    Update,
)
from telegram.constants import ChatType, ParseMode
from telegram.error import BadRequest, Forbidden, TelegramError
from telegram.ext import (
    Application,
    ApplicationHandlerStop,
    CallbackQueryHandler,
    ContextTypes,
    MessageHandler,
    TypeHandler,
    filters,
)
from telegram.warnings import PTBUserWarning

from bot.chat.markup import plain_text, split_html
from bot.chat.outbound import Attachment
from bot.chat.ratelimit import RateLimiter, Verdict
from bot.residents.dialogue import Button, Dialogue, Reply, esc
from bot.staff.desk import STAFF_COMMANDS, StaffDesk
from bot.staff.onboarding import looks_like_code
from bot.store import backoff
from handlers.request import Fault, fault_of

log = logging.getLogger(__name__)
# PTB advises bot.send_message over do_api_request("sendMessage"); see TelegramFrontend.send.
warnings.filterwarnings("ignore", message=".*instead of 'Bot.do_api_request", category=PTBUserWarning)

ALERT_INTERVAL = 60.0  # seconds between two alerts to the coordinators' chat
TOAST_LIMIT = 200  # answerCallbackQuery text limit
SCREEN_GROUP, GATE_GROUP = -3, -2  # handler groups before the desks (-1) and the residents (0)
COMMANDS_RETRY_BASE = 2.0  # seconds: the command menu's first retry, doubling …
COMMANDS_RETRY_CAP = 900.0  # … up to 15 minutes
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
_SURROGATE = re.compile("[\ud800-\udfff]")


def message_params(html: str, buttons: list[list[Button]] | None) -> dict:
    """``sendMessage`` / ``editMessageText`` parameters as plain Bot API JSON."""
    params = {"text": html, "parse_mode": ParseMode.HTML.value, "link_preview_options": {"is_disabled": True}}
    if buttons:
        params["reply_markup"] = {
            "inline_keyboard": [[{"text": b.label, "callback_data": b.data} for b in row] for row in buttons]
        }
    return params


class TelegramFrontend:
    """Holds the dialogue, the per-user limiter and the alert settings; installs the handlers."""

    def __init__(
        self,
        dialogue: Dialogue,
        *,
        rate_limit_per_minute: int = 20,
        alert_chat_id: int | None = None,
        clock: Callable[[], float] = time.monotonic,
        desk: StaffDesk | None = None,
        report: Callable[[], tuple[bytes, bytes]] | None = None,
    ):
        self.dialogue = dialogue
        self.desk = desk
        self.report = report
        self.limiter = RateLimiter(rate_limit_per_minute, 60.0)
        self.alert_chat_id = alert_chat_id
        self.clock = clock
        self._last_alert = -ALERT_INTERVAL

    def install(self, app: Application) -> None:
        """The handlers, in groups that run in order: ``screen`` (-3) drops forged updates,
        ``gate`` (-2) applies the per-user limit to every update before any handler (the
        coordinators' ``/newsletter`` desk is group -1), then the residents' handlers (0)."""
        app.add_handler(TypeHandler(Update, self.screen), group=SCREEN_GROUP)
        app.add_handler(TypeHandler(Update, self.gate), group=GATE_GROUP)
        app.add_handler(CallbackQueryHandler(self.on_button))
        app.add_handler(MessageHandler(filters.ALL, self.on_message))
        app.add_error_handler(self.on_error)

    # -- updates -----------------------------------------------------------------------------
    async def screen(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Telegram always names a message's chat and a button press's sender, a text is a
        string, ids fit the store's 64-bit integers, and text is valid Unicode (no lone
        surrogates, which cannot be stored or sent). An update that breaks this (only a forged
        Bot API sends one) stops here, before any handler or filter, logged by its id only."""
        msg, query = update.effective_message, update.callback_query
        if msg is not None and (msg.chat is None or not isinstance(msg.text, str | None)):
            raise ApplicationHandlerStop
        if query is not None and query.from_user is None:
            raise ApplicationHandlerStop
        ids = [x.id for x in (update.effective_chat, update.effective_user) if x is not None]
        texts = [msg.text if msg is not None else None, query.data if query is not None else None]
        if not all(isinstance(i, int) and INT64_MIN <= i <= INT64_MAX for i in ids) or any(
            isinstance(t, str) and _SURROGATE.search(t) for t in texts
        ):
            log.warning("update %s has ids or text Telegram never sends; dropped", update.update_id)
            raise ApplicationHandlerStop

    async def gate(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """The per-user limit, for every update a handler would act on, before any handler.

        Group messages not addressed to the bot stop here uncounted (no handler acts on them).
        Over the limit, the first excess update gets one polite notice (a toast for a button),
        the rest of the window nothing, and no handler runs."""
        msg, chat, user, query = (
            update.effective_message,
            update.effective_chat,
            update.effective_user,
            update.callback_query,
        )
        if query is not None:
            sender = query.from_user.id
        elif msg is not None and chat is not None:
            if chat.type == ChatType.CHANNEL:
                raise ApplicationHandlerStop
            if chat.type != ChatType.PRIVATE and (
                update.edited_message is not None
                or not msg.text
                or not self._addressed_to_me(msg, context.bot.username)
            ):
                raise ApplicationHandlerStop
            sender = user.id if user else chat.id
        else:
            return  # membership and other updates: no handler answers them
        now = self.clock()
        verdict = self.limiter.check(sender, now)
        if verdict is Verdict.ALLOW:
            return
        if verdict is Verdict.NOTIFY:
            notice = self.dialogue.too_fast(
                chat.id if chat else sender, self.limiter.retry_after(sender, now)
            )
            if query is not None:
                await query.answer(plain_text(notice[0].html)[:TOAST_LIMIT])
            else:
                await self.send(context.bot, chat.id, notice)
        elif query is not None:
            await query.answer()  # stops the button's spinner; says nothing more
        raise ApplicationHandlerStop

    async def on_message(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        msg, chat, user = update.effective_message, update.effective_chat, update.effective_user
        if msg is None or chat is None or chat.type == ChatType.CHANNEL:
            return
        edited = update.edited_message is not None
        private = chat.type == ChatType.PRIVATE
        if not private:
            if edited or not msg.text or not self._addressed_to_me(msg, context.bot.username):
                return
        if edited:
            replies = self.dialogue.unsupported(chat.id, edited=True)
        elif msg.text is None:
            replies = self.dialogue.unsupported(chat.id)
        else:
            suggested = user.language_code if user else None
            replies = None
            if self.desk is not None and private:
                replies = await self._staff_text(context.bot, chat.id, msg.text)
            if replies is None:
                replies = self.dialogue.handle_text(chat.id, msg.text, suggested=suggested, private=private)
        await self.send(context.bot, chat.id, replies)

    async def _staff_text(self, bot, chat_id: int, text: str) -> list[Reply] | None:
        """Staff routes: ``/start <code>``, the staff commands, and the note of an answer in
        progress. None when the message is not for the staff desk."""
        desk = self.desk
        stripped = text.strip()
        if stripped.startswith("/"):
            head, _, rest = stripped[1:].partition(" ")
            command = head.split("@", 1)[0].lower()
            if command == "start" and looks_like_code(rest.strip()):
                linking = desk.link(chat_id, rest.strip(), language=self.dialogue.language_of(chat_id))
                if linking.member is not None:
                    await self._set_staff_commands(bot, linking.member)
                if linking.moved_from is not None:
                    try:  # the previous chat learns that its staff link moved
                        await self.send(bot, linking.moved_from, linking.notice)
                    except TelegramError as exc:
                        log.warning("could not tell the previous staff chat: %s", type(exc).__name__)
                    await self.reset_menus(bot)
                return linking.replies
            if command in STAFF_COMMANDS:
                replies = desk.command(chat_id, command, rest, language=self.dialogue.language_of(chat_id))
                if command == "report" and not replies:
                    await self._send_report(bot, chat_id)
                return replies
            return None
        if desk.is_staff_chat(chat_id):
            return desk.text(chat_id, text)
        return None

    async def _set_staff_commands(self, bot, member) -> None:
        """Staff see their commands in Telegram's menu: the residents' ones plus the staff ones,
        in their language, for their chat only (``BotCommandScopeChat``)."""
        lang = member.language
        commands = self.dialogue.command_menu(lang) + self.desk.command_menu(member)
        try:
            await bot.set_my_commands(
                [BotCommand(c, d) for c, d in commands], scope=BotCommandScopeChat(member.chat_id)
            )
        except TelegramError as exc:
            log.warning("could not set the staff command menu: %s", type(exc).__name__)

    async def reset_menus(self, bot) -> int:
        """Remove the staff command menu from every chat queued for it (``MenuReset``: a removed
        person's, a staff link moved away, a staff member's /delete), with ``deleteMyCommands``
        for the chat's scope. A chat Telegram no longer knows counts as done; any other failure
        leaves it queued for the next try (the next status tick). Returns how many were done."""
        if self.desk is None:
            return 0
        return await reset_menus(bot, self.desk.directory)

    async def _send_report(self, bot, chat_id: int) -> None:
        """/report for a coordinator: the HTML report as a document, then the chart as a photo."""
        member = self.desk.directory.by_chat(chat_id)
        html_bytes, png = await asyncio.to_thread(self.report)
        doc_caption, chart_caption = self.desk.report_captions(member)
        from handlers.sender import BotSender  # sender.py imports message_params from here

        sender = BotSender(bot)
        day = self.desk.today().isoformat()
        await sender.send_file(
            chat_id, Attachment("document", html_bytes, f"umsetzungsbericht-{day}.html"), esc(doc_caption)
        )
        await sender.send_file(
            chat_id, Attachment("photo", png, f"umsetzungsstand-{day}.png"), esc(chart_caption)
        )

    async def on_button(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """A button press. What it does is decided for the presser, not only the chat: in a
        private chat the presser is the chat (anything else is forged); in a group, buttons act
        for the group, and personal ones (newsletters, /delete, the staff desk) are refused
        with a hint to use a private chat."""
        query = update.callback_query
        chat = update.effective_chat
        presser = query.from_user.id
        user_id = chat.id if chat else presser
        private = chat is None or chat.type == ChatType.PRIVATE
        data = query.data if isinstance(query.data, str) else ""
        if private and user_id != presser:
            replies = [self.dialogue.expired(self.dialogue.language_of(presser))]
        elif self.desk is not None and data.startswith("K:"):
            replies = (
                self.desk.button(user_id, data)
                if private
                else self.dialogue.handle_button(user_id, data, private=False)
            )
        else:
            replies = self.dialogue.handle_button(user_id, data, private=private)
            if data == "D:yes":  # a staff member's /delete queued their menu for removal
                await self.reset_menus(context.bot)
        toast = next((r for r in replies if r.toast), None)
        await query.answer(plain_text(toast.html)[:TOAST_LIMIT] if toast else None)
        messages = [r for r in replies if not r.toast]
        if not messages:
            return
        pressed = query.message if isinstance(query.message, Message) else None
        if pressed is not None and await self._edit(pressed, messages[0]):
            messages = messages[1:]
        target = pressed.chat_id if pressed is not None else user_id
        await self.send(context.bot, target, messages)

    async def on_error(self, update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        error = context.error
        if not isinstance(update, Update):
            # Polling and network trouble: PTB retries by itself.
            log.warning("Bot API trouble outside an update: %s", type(error).__name__)
            return
        log.error("update %s failed: %s", update.update_id, type(error).__name__, exc_info=error)
        await self._alert(
            context, f"Ankommen: {type(error).__name__} while handling update {update.update_id}."
        )
        chat = update.effective_chat
        if fault_of(error) is Fault.MAYBE_SENT:
            # The request may have reached Telegram (the answer arrived, its response did not):
            # an apology after it would be wrong, and would be one more message on a bad line.
            log.info("update %s: the reply may have arrived; no apology", update.update_id)
        elif chat is not None and chat.type == ChatType.PRIVATE:
            try:
                user = update.effective_user
                apology = self.dialogue.apology(chat.id, user.language_code if user else None)
                await self.send(context.bot, chat.id, apology)
            except TelegramError as exc:
                log.warning("could not send the apology: %s", type(exc).__name__)
        # One apology per update: no later handler group runs after a failed one (while the
        # store is down, each group would fail and apologise again).
        raise ApplicationHandlerStop

    # -- sending -----------------------------------------------------------------------------
    async def send(self, bot, chat_id: int, replies: list[Reply]) -> None:
        """Send replies, split below Telegram's limit, the buttons under the last part.

        This is the hot path of every answer, so it calls ``sendMessage`` (and ``_edit``
        ``editMessageText``) through ``do_api_request`` with plain JSON: that skips building
        keyboard objects and parsing the returned message into objects, which together cost more
        than the whole search (bench/updates.py: 0.49 -> 0.55 of the echo bot's throughput).
        Flood control, retries and errors work as for ``send_message``.
        """
        for reply in replies:
            parts = split_html(reply.html)
            for i, part in enumerate(parts):
                params = message_params(part, reply.buttons if i == len(parts) - 1 else None)
                try:
                    await bot.do_api_request("sendMessage", api_kwargs={"chat_id": chat_id, **params})
                except Forbidden:
                    log.info("a user has blocked the bot; reply dropped")
                    return

    async def _edit(self, message: Message, reply: Reply) -> bool:
        """Replace the pressed message with ``reply``; False when it must be sent anew."""
        parts = split_html(reply.html)
        if len(parts) > 1:
            return False
        params = {
            "chat_id": message.chat_id,
            "message_id": message.message_id,
            **message_params(parts[0], reply.buttons),
        }
        try:
            await message.get_bot().do_api_request("editMessageText", api_kwargs=params)
        except BadRequest as exc:
            if "not modified" in str(exc).lower():
                return True
            return False
        return True

    async def _alert(self, context: ContextTypes.DEFAULT_TYPE, text: str) -> None:
        now = self.clock()
        if self.alert_chat_id is None or now - self._last_alert < ALERT_INTERVAL:
            return
        self._last_alert = now
        try:
            await context.bot.send_message(self.alert_chat_id, text)
        except TelegramError as exc:
            log.warning("could not alert the coordinators' chat: %s", type(exc).__name__)

    @staticmethod
    def _addressed_to_me(msg: Message, username: str | None) -> bool:
        """In groups: a command that names this bot, ``/cmd@ThisBot``."""
        text = msg.text or ""
        if not text.startswith("/") or not username:
            return False
        head = text.split(maxsplit=1)[0]
        return "@" in head and head.split("@", 1)[1].lower() == username.lower()

    def schedule_commands(self, app: Application, *, first: float = 0.0) -> None:
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
    ``TelegramFrontend.reset_menus``. Also used by ``ankommen staff remove`` with a token."""
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
