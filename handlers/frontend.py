"""The Telegram layer's inbound side: an update becomes one call into the core router.

Everything a person reads comes from the core (``bot.chat.router`` and its desks); this module
maps updates to ``Inbound`` values and the router's replies and effects to Bot API calls:

* one call into the core router per update (``on_update``): in a worker thread
  (``asyncio.to_thread``) on PostgreSQL, so the event loop never waits on a network round trip
  to the store; on the event loop itself on SQLite, where a statement is a local file read of
  tens of microseconds and the hand-over to a thread and back costs more than the whole answer
  (the two threads share one interpreter lock). There the store never waits for a lock on the
  event loop: a call that meets another writer's lock is run again in a worker thread
  (``bot.store.db.never_wait``), so a locked store still slows one chat, never all of them.
  Staff and editors are answered in a thread on SQLite too (reports, newsletter sends).
  ``ANKOMMEN_ANSWER_THREAD`` overrides the choice;
* private chats: text is a question or a command; a button press replaces the pressed message
  with its answer (further replies are sent as new messages); stickers, photos, voice,
  locations and edited messages get a one-line hint;
* groups: only commands addressed to the bot (``/help@AnkommenBot``) get an answer;
* a per-user limit (``ANKOMMEN_RATE_LIMIT`` a minute) answers the first excess message once and
  ignores the rest of the window;
* one error handler logs the traceback, alerts the coordinators' chat if configured (at most one
  alert a minute) and sends the user a one-line apology.

The handlers are registered in ``handlers/app.py`` (``register``). Logs never carry message
text, and the token never appears in them (httpx logs are quietened by the CLI; PTB logs stay at
INFO or above).
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
import warnings
from collections import OrderedDict
from collections.abc import Callable

from telegram import (
    BotCommand,
    BotCommandScopeChat,
    Message,
    Update,
)
from telegram.constants import ChatType
from telegram.error import TelegramError
from telegram.ext import (
    ApplicationHandlerStop,
    ContextTypes,
)
from telegram.warnings import PTBUserWarning

from bot.chat.actor import StoreActors
from bot.chat.markup import plain_text
from bot.chat.outbound import Attachment
from bot.chat.ratelimit import RateLimiter, Verdict
from bot.chat.replies import Reply, esc
from bot.chat.router import (
    Conversation,
    Inbound,
    Kind,
    Notify,
    ResetMenus,
    SendFiles,
    SetCommands,
    parse_command,
)
from bot.residents.dialogue import Dialogue
from bot.staff.desk import StaffDesk
from bot.store.db import WouldBlock, never_wait
from handlers.commands import CommandMenus, reset_menus
from handlers.context import AnkommenContext
from handlers.replies import edit, send
from handlers.request import Fault, fault_of
from handlers.sender import BotSender

log = logging.getLogger(__name__)
# PTB advises bot.send_message over do_api_request("sendMessage"); see TelegramFrontend.send.
warnings.filterwarnings("ignore", message=".*instead of 'Bot.do_api_request", category=PTBUserWarning)

ALERT_INTERVAL = 60.0  # seconds between two alerts to the coordinators' chat
TOAST_LIMIT = 200  # answerCallbackQuery text limit
SCREEN_GROUP, GATE_GROUP = -3, -2  # handler groups before the desks (-1) and the residents (0)
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
_SURROGATE = re.compile("[\ud800-\udfff]")


class TelegramFrontend:
    """Holds the core router, the per-user limiter and the alert settings; sends replies."""

    def __init__(
        self,
        dialogue: Dialogue | None = None,
        *,
        conversation: Conversation | None = None,
        rate_limit_per_minute: int = 20,
        alert_chat_id: int | None = None,
        clock: Callable[[], float] = time.monotonic,
        desk: StaffDesk | None = None,
        newsletters=None,
        report: Callable[[], tuple[bytes, bytes]] | None = None,
        actors=None,
        answer_in_thread: bool = True,
    ):
        if conversation is None:  # the residents' side alone, or desks given one by one (tests)
            if actors is None and getattr(dialogue.prefs, "engine", None) is not None:
                actors = StoreActors(dialogue.prefs.engine)
            conversation = Conversation(
                dialogue, actors=actors, staff=desk, newsletters=newsletters, report=report
            )
        self.conversation = conversation
        self.answer_in_thread = answer_in_thread
        self.dialogue = conversation.dialogue
        self.desk = conversation.staff
        self.menus = CommandMenus(self.dialogue)
        self.limiter = RateLimiter(rate_limit_per_minute, 60.0)
        self.alert_chat_id = alert_chat_id
        self.clock = clock
        self._last_alert = -ALERT_INTERVAL
        self._languages: OrderedDict[int, str] = OrderedDict()  # update id -> the actor's language

    def _remember_language(self, update_id: int, lang: str) -> None:
        """The actor's language, for an apology should the rest of this update fail."""
        self._languages[update_id] = lang
        while len(self._languages) > 1000:
            self._languages.popitem(last=False)

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
                or not _addressed_to(msg.text, context.bot.username)
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
            notice = await asyncio.to_thread(  # its language is in the store
                self.dialogue.too_fast, chat.id if chat else sender, self.limiter.retry_after(sender, now)
            )
            if query is not None:
                await query.answer(plain_text(notice[0].html)[:TOAST_LIMIT])
            else:
                await send(context.bot, chat.id, notice)
        elif query is not None:
            await query.answer()  # stops the button's spinner; says nothing more
        raise ApplicationHandlerStop

    # -- one handler for every message and button: the core router decides where it goes -------
    async def on_update(self, update: Update, context: AnkommenContext) -> None:
        """A message or a button press: one call into the core router (in a worker thread when
        ``answer_in_thread``), then the replies and the effects it asks for."""
        inbound = self._inbound(update, context.bot.username)
        if inbound is None:
            return
        if self.answer_in_thread:
            outcome = await asyncio.to_thread(self.conversation.handle, inbound)
        else:
            outcome = await self._handle_on_loop(inbound)
        context.actor = outcome.actor
        if outcome.actor is not None and outcome.actor.lang:
            self._remember_language(update.update_id, outcome.actor.lang)
        await self._perform(context.bot, outcome.effects)  # a staff menu is set before the welcome
        query = update.callback_query
        if query is not None:
            await self._answer_press(query, context.bot, inbound.chat_id, outcome.replies)
        else:
            await send(context.bot, inbound.chat_id, outcome.replies)
        self._languages.pop(update.update_id, None)

    async def _handle_on_loop(self, inbound: Inbound):
        """SQLite: a resident's update is answered on the event loop, without ever waiting for
        the store's write lock (``never_wait``: a locked store gives way, and the call runs in a
        worker thread). Staff and editors run in a thread from the start: their paths make
        reports and start newsletter sends, work of a second, not of a millisecond."""
        actor = None
        try:
            with never_wait():  # a store locked by another writer: WouldBlock, not a wait
                actor = self.conversation.resolve(inbound)
                if actor.member is None:
                    return self.conversation.handle(inbound, actor)
        except WouldBlock:
            pass
        return await asyncio.to_thread(self.conversation.handle, inbound, actor)

    def _inbound(self, update: Update, username: str | None) -> Inbound | None:
        """The transport-neutral form of an update; None for what no desk answers (a channel
        post, a group message not addressed to the bot)."""
        msg, chat, user, query = (
            update.effective_message, update.effective_chat, update.effective_user, update.callback_query,
        )  # fmt: skip
        if query is not None:
            presser = query.from_user.id
            private = chat is None or chat.type == ChatType.PRIVATE
            data = query.data if isinstance(query.data, str) else ""
            return Inbound(chat.id if chat else presser, Kind.BUTTON, data, private=private, presser=presser)
        if msg is None or chat is None or chat.type == ChatType.CHANNEL:
            return None
        edited = update.edited_message is not None
        private = chat.type == ChatType.PRIVATE
        if not private and (edited or not msg.text or not _addressed_to(msg.text, username)):
            return None
        suggested = user.language_code if user else None
        if edited:
            return Inbound(chat.id, Kind.EDITED, suggested=suggested, private=private)
        if msg.text is None:
            return Inbound(chat.id, Kind.OTHER, suggested=suggested, private=private)
        return Inbound(chat.id, Kind.TEXT, msg.text, suggested, private)

    async def _answer_press(self, query, bot, chat_id: int, replies: list[Reply]) -> None:
        """A button's answer: a toast, or the pressed message replaced (more replies follow as new
        messages)."""
        toast = next((r for r in replies if r.toast), None)
        await query.answer(plain_text(toast.html)[:TOAST_LIMIT] if toast else None)
        messages = [r for r in replies if not r.toast]
        if not messages:
            return
        pressed = query.message if isinstance(query.message, Message) else None
        if pressed is not None and await edit(pressed, messages[0]):
            messages = messages[1:]
        await send(bot, pressed.chat_id if pressed is not None else chat_id, messages)

    async def _perform(self, bot, effects: list) -> None:
        """What the core asked for beside its replies (``bot.chat.router``'s effects)."""
        for effect in effects:
            if isinstance(effect, SetCommands):
                await self._set_chat_commands(bot, effect)
            elif isinstance(effect, Notify):
                try:  # the previous chat learns that its staff link moved
                    await send(bot, effect.chat_id, effect.replies)
                except TelegramError as exc:
                    log.warning("could not tell the previous staff chat: %s", type(exc).__name__)
            elif isinstance(effect, ResetMenus):
                await self.reset_menus(bot)
            elif isinstance(effect, SendFiles):
                await self._send_files(bot, effect)

    async def _set_chat_commands(self, bot, effect: SetCommands) -> None:
        """Staff see their commands in Telegram's menu: the residents' ones plus the staff ones,
        in their language, for their chat only (``BotCommandScopeChat``)."""
        try:
            await bot.set_my_commands(
                [BotCommand(c, d) for c, d in effect.commands], scope=BotCommandScopeChat(effect.chat_id)
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

    async def _send_files(self, bot, effect: SendFiles) -> None:
        """/report for a coordinator: the HTML report as a document, then the chart as a photo."""
        sender = BotSender(bot)
        for kind, data, name, caption in effect.files:
            await sender.send_file(effect.chat_id, Attachment(kind, data, name), esc(caption))

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
                known = self._languages.pop(update.update_id, None)
                suggested = user.language_code if user else None
                apology = await asyncio.to_thread(self.dialogue.apology, chat.id, suggested, known=known)
                await send(context.bot, chat.id, apology)
            except TelegramError as exc:
                log.warning("could not send the apology: %s", type(exc).__name__)
        # One apology per update: no later handler group runs after a failed one (while the
        # store is down, each group would fail and apologise again).
        raise ApplicationHandlerStop

    async def _alert(self, context: ContextTypes.DEFAULT_TYPE, text: str) -> None:
        now = self.clock()
        if self.alert_chat_id is None or now - self._last_alert < ALERT_INTERVAL:
            return
        self._last_alert = now
        try:
            await context.bot.send_message(self.alert_chat_id, text)
        except TelegramError as exc:
            log.warning("could not alert the coordinators' chat: %s", type(exc).__name__)


def _addressed_to(text: str, username: str | None) -> bool:
    """In groups: a command that names this bot, ``/cmd@ThisBot``."""
    command = parse_command(text or "")
    return bool(command and username and command.addressee and command.addressee.lower() == username.lower())
