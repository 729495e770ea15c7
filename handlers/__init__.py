"""The Telegram layer (python-telegram-bot). Thin: update -> core call -> reply.

Placeholder until the Telegram issue: the core in ``bot/`` already exposes the transport-neutral
dialogue (``bot.dialogue.Dialogue``) that these handlers will drive.
"""
