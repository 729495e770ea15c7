"""Paging of long lists behind back/next buttons, the same on every desk."""

from __future__ import annotations

from bot.chat.replies import Button

PAGE_SIZE = 8


def paginate(_, items: list, page: int, prefix: str) -> tuple[list, int, list[list[Button]]]:
    """One page of ``items``, the page count, and the back/next row (``prefix`` + page).

    ``_`` is the gettext function of the reader's language. A page outside the list raises
    ``IndexError`` (a stale or forged button): the desk answers "this button has expired"."""
    pages = max(1, -(-len(items) // PAGE_SIZE))
    if not 0 <= page < pages:
        raise IndexError(page)
    nav = []
    if page > 0:
        nav.append(Button("\u2039 " + _("Back"), f"{prefix}{page - 1}"))
    if page + 1 < pages:
        nav.append(Button(_("Next") + " \u203a", f"{prefix}{page + 1}"))
    return items[page * PAGE_SIZE : (page + 1) * PAGE_SIZE], pages, [nav] if nav else []
