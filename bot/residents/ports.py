"""What the residents' dialogue needs from outside: where languages are kept, where it reports
what it learns, and the staff side of a chat (for /delete). Memory versions for the console
without a store and for tests; the store versions are in ``bot.residents.store`` and
``bot.staff.directory``."""

from __future__ import annotations

from typing import Protocol


class Preferences(Protocol):
    """Where a user's language is kept (memory for the console, the store for Telegram)."""

    def get_language(self, user_id: int) -> str | None: ...

    def set_language(self, user_id: int, lang: str) -> None: ...

    def forget(self, user_id: int) -> bool:
        """Erase everything kept about the user; True if there was anything."""
        ...


class Recorder(Protocol):
    """Where unanswered questions and votes go (the store); never with a user id."""

    def record_gap(self, text: str, lang: str) -> None: ...

    def record_vote(self, entity: str, key: str, up: bool) -> None: ...

    def record_referral(self, text: str, lang: str, topic: str) -> None: ...

    def record_safety(self, topic: str) -> None: ...


class StaffLinks(Protocol):
    """The staff side of a chat, for /delete (``bot.staff.directory.StaffDirectory`` in the store)."""

    def is_linked(self, chat_id: int) -> bool: ...

    def forget_chat(self, chat_id: int) -> bool:
        """Erase the chat's staff link and what hangs on it; True if it was linked."""
        ...


class MemoryPreferences:
    def __init__(self) -> None:
        self._langs: dict[int, str] = {}

    def get_language(self, user_id: int) -> str | None:
        return self._langs.get(user_id)

    def set_language(self, user_id: int, lang: str) -> None:
        self._langs[user_id] = lang

    def forget(self, user_id: int) -> bool:
        return self._langs.pop(user_id, None) is not None


class NullRecorder:
    def record_gap(self, text: str, lang: str) -> None:
        pass

    def record_vote(self, entity: str, key: str, up: bool) -> None:
        pass

    def record_referral(self, text: str, lang: str, topic: str) -> None:
        pass

    def record_safety(self, topic: str) -> None:
        pass
