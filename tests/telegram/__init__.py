"""The Telegram layer (handlers/): the real Application against the loopback Bot API."""
