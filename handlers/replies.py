"""Replies on the Bot API: ``sendMessage`` and ``editMessageText`` as plain JSON.

Every reply of the core (``bot.chat.replies.Reply``) is sent here, split below Telegram's limit
(``bot.chat.markup.split_html``) with its buttons under the last part.
"""

from __future__ import annotations

import logging

from telegram import Message
from telegram.constants import ParseMode
from telegram.error import BadRequest, Forbidden

from bot.chat.markup import split_html
from bot.chat.replies import Button, Reply

log = logging.getLogger(__name__)


def message_params(html: str, buttons: list[list[Button]] | None) -> dict:
    """``sendMessage`` / ``editMessageText`` parameters as plain Bot API JSON."""
    params = {"text": html, "parse_mode": ParseMode.HTML.value, "link_preview_options": {"is_disabled": True}}
    if buttons:
        params["reply_markup"] = {
            "inline_keyboard": [[{"text": b.label, "callback_data": b.data} for b in row] for row in buttons]
        }
    return params


# -- sending -----------------------------------------------------------------------------
async def send(bot, chat_id: int, replies: list[Reply]) -> None:
    """Send replies, split below Telegram's limit, the buttons under the last part.

    This is the hot path of every answer, so it calls ``sendMessage`` (and ``edit``
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


async def edit(message: Message, reply: Reply) -> bool:
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
