"""A bare python-telegram-bot echo bot: the baseline for bench/updates.py.

TELEGRAM_BOT_TOKEN=… TELEGRAM_API_BASE_URL=… python bench/echo_bot.py
"""

import os

from telegram import Update
from telegram.ext import ApplicationBuilder, MessageHandler, filters


async def echo(update: Update, context) -> None:
    await update.effective_message.reply_text(update.effective_message.text)


def main() -> None:
    app = (
        ApplicationBuilder()
        .token(os.environ["TELEGRAM_BOT_TOKEN"])
        .base_url(os.environ["TELEGRAM_API_BASE_URL"])
        .build()
    )
    app.add_handler(MessageHandler(filters.TEXT, echo))
    app.run_polling(allowed_updates=Update.ALL_TYPES)


if __name__ == "__main__":
    main()
