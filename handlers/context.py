"""The ``CallbackContext`` of every Ankommen handler: PTB's, plus the update's actor.

The actor (``bot.chat.actor.Actor``: the chat, its language, the linked staff member) is resolved
by the core router in the same worker thread that handles the update; the inbound handler puts
it here, so anything after it in the update (the replies, the effects) knows who it acts for
without asking the store again. Wired through ``ContextTypes`` (PTB's
``examples/contexttypesbot.py``).
"""

from __future__ import annotations

from telegram.ext import Application, CallbackContext, ContextTypes, ExtBot

from bot.chat.actor import Actor


class AnkommenContext(CallbackContext[ExtBot, dict, dict, dict]):
    def __init__(self, application: Application, chat_id: int | None = None, user_id: int | None = None):
        super().__init__(application=application, chat_id=chat_id, user_id=user_id)
        self.actor: Actor | None = None


CONTEXT_TYPES = ContextTypes(context=AnkommenContext)
