"""The one button codec: every ``callback_data`` the bot makes or accepts, in one table.

Button data is ``<head>[:<arg>…]``: a head names a route, and each route has a fixed list of
typed arguments, the last ``optional`` of which may be left out. The data is at most 64 bytes
(Telegram's limit for ``callback_data``). An ``int`` argument is ASCII digits only, at most 18
of them, so that it fits the store's 64-bit integers: ``int()`` would also take ``"١"`` (an
Arabic-Indic one), ``"٤"`` or ``"0_1"``, and a forged button must not mean page 1. A ``word`` is
1 to 48 printable characters without ``:``; the desk checks it against what exists (a measure
number, a language, a newsletter).

``decode`` returns a ``Press`` (the route and its typed arguments) or None: the router answers
None with "this button has expired" and changes nothing. ``Button`` (``bot.chat.replies``)
refuses data ``decode`` cannot read, so a button the router would not route is never sent.

Routes name their desk, and ``personal`` ones act for one person (subscriptions, erasing data,
staff answers, newsletter issues), so they are refused in groups. This is a dataclass version
of aiogram's ``CallbackData``: a prefix per route, typed fields, one place that parses.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

MAX_BYTES = 64
_INT = re.compile(r"[0-9]{1,18}")
_WORD = re.compile(r"[^:\x00-\x1f\x7f]{1,48}")  # printable, no separator (spaces only inside)


class Desk(StrEnum):
    RESIDENTS = "residents"
    STAFF = "staff"
    NEWSLETTERS = "newsletters"


@dataclass(frozen=True)
class Route:
    head: str
    desk: Desk
    args: tuple[type, ...] = ()  # int or str (a word), in order
    optional: int = 0  # how many trailing arguments may be left out
    personal: bool = False
    about: str = ""


R, K, W = Desk.RESIDENTS, Desk.STAFF, Desk.NEWSLETTERS
ROUTES: dict[str, Route] = {
    r.head: r
    for r in (
        # The residents' conversation (bot.residents.dialogue).
        Route("L", R, (str,), optional=1, about="the language picker, or choose a language"),
        Route("M", R, about="main menu"),
        Route("A", R, about="ask a question"),
        Route("T", R, about="topics: the fields of action"),
        Route("H", R, about="help"),
        Route("P", R, about="privacy"),
        Route("N", R, personal=True, about="my newsletters"),
        Route("S", R, (str,), personal=True, about="subscribe to or leave a newsletter (a toggle)"),
        Route("U", R, (str,), personal=True, about="leave a newsletter (under an issue)"),
        Route("D", R, (str,), optional=1, personal=True, about="erase my data: ask, then yes or no"),
        Route("O", R, (int,), optional=1, about="all offers, a page"),
        Route("G", R, (int,), about="a field's goals"),
        Route("F", R, (int, int), optional=1, about="a field's measures, a page"),
        Route("m", R, (str,), about="a measure"),
        Route("g", R, (str,), about="a measure's official German text"),
        Route("o", R, (str,), about="an offer"),
        Route("R", R, (int,), about="the next result of the last question"),
        Route("V", R, (str, str, str), about="a vote: u|d, m|o, the measure or offer"),
        # Staff reporting a status (bot.staff.desk).
        Route("K:l", K, (int,), personal=True, about="my measures, a page"),
        Route("K:c", K, (int,), personal=True, about="correct a saved status report"),
        Route("K:r", K, (str,), personal=True, about="report on a measure"),
        Route("K:s", K, (str, str), personal=True, about="choose a status"),
        Route("K:p", K, (str, int), personal=True, about="choose the progress"),
        Route("K:n", K, (str,), personal=True, about="add a note"),
        Route("K:b", K, (str,), personal=True, about="skip the note"),
        Route("K:y", K, (str,), personal=True, about="save"),
        Route("K:x", K, (str,), personal=True, about="cancel"),
        # Coordinators writing a newsletter issue (bot.newsletters.desk).
        Route("W:n", W, (str,), personal=True, about="write an issue of a newsletter"),
        Route("W:s", W, (int,), personal=True, about="send an issue"),
        Route("W:x", W, (int,), personal=True, about="discard an issue"),
    )
}


@dataclass(frozen=True)
class Press:
    """A decoded button: its route and its typed arguments (optional ones left out are absent)."""

    route: Route
    args: tuple[int | str, ...]

    @property
    def head(self) -> str:
        return self.route.head


def _route_of(parts: list[str]) -> tuple[Route, list[str]] | None:
    for width in (2, 1):  # two-part heads ("K:s") first
        route = ROUTES.get(":".join(parts[:width]))
        if route is not None and (width == 1 or len(route.head) > 1 and ":" in route.head):
            return route, parts[width:]
    return None


def decode(data: object) -> Press | None:
    """The route and typed arguments of ``data``, or None for anything the table does not allow."""
    if not isinstance(data, str) or not data or len(data.encode("utf-8", "replace")) > MAX_BYTES:
        return None
    found = _route_of(data.split(":"))
    if found is None:
        return None
    route, raw = found
    if raw and raw[-1] == "" and len(raw) <= len(route.args) and route.optional:
        raw = raw[:-1]  # "L:" and "O:" as older buttons wrote them: the optional argument left out
    if not len(route.args) - route.optional <= len(raw) <= len(route.args):
        return None
    args: list[int | str] = []
    for kind, value in zip(route.args, raw, strict=False):
        if kind is int:
            if not _INT.fullmatch(value):
                return None
            args.append(int(value))
        elif not _WORD.fullmatch(value) or value != value.strip():
            return None
        else:
            args.append(value)
    return Press(route, tuple(args))


def encode(head: str, *args: int | str) -> str:
    """Button data for a route; ValueError if the table does not allow it."""
    data = ":".join([head, *(str(a) for a in args)])
    press = decode(data)
    if press is None or press.head != head:
        raise ValueError(f"no route takes {data!r}")
    return data
