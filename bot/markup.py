"""Telegram's message limits on our HTML subset: split long replies into valid parts.

Replies use only ``<b>``, ``<i>`` and escaped text. ``split_html`` cuts a reply into parts of at
most ``limit`` UTF-16 code units (the unit Telegram counts), preferring line breaks, then spaces;
tags open at a cut are closed at the end of one part and reopened at the start of the next, and
an entity such as ``&amp;`` is never cut.
"""

from __future__ import annotations

import html
import re

TELEGRAM_TEXT_LIMIT = 4096
_ATOMS = re.compile(r"<[^<>]*>|&#?\w+;|\n|[^\S\n]+|[^\s<&]+|[<&]")
_OPEN = re.compile(r"<([a-z]+)>")
_CLOSE = re.compile(r"</([a-z]+)>")


def utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def plain_text(markup: str) -> str:
    """The text a user sees: tags removed, entities resolved."""
    return html.unescape(re.sub(r"<[^<>]*>", "", markup))


def _track(tags: list[str], atom: str) -> None:
    """Update the list of open tags after ``atom``."""
    if m := _OPEN.fullmatch(atom):
        tags.append(m.group(1))
    elif (m := _CLOSE.fullmatch(atom)) and tags and tags[-1] == m.group(1):
        tags.pop()


def split_html(markup: str, limit: int = TELEGRAM_TEXT_LIMIT) -> list[str]:
    if utf16_len(markup) <= limit:
        return [markup]
    atoms: list[str] = []
    step = max(1, limit // 4)  # a single word longer than this is cut into pieces
    for atom in _ATOMS.findall(markup):
        if len(atom) > step and not atom.startswith(("<", "&")):
            atoms += [atom[i : i + step] for i in range(0, len(atom), step)]
        else:
            atoms.append(atom)

    parts: list[str] = []
    stack: list[str] = []  # tags open at the current position
    cur: list[str] = []
    cur_len = 0
    cur_open: list[str] = []  # tags open at the start of ``cur``

    def closing(tags: list[str]) -> str:
        return "".join(f"</{t}>" for t in reversed(tags))

    def reserve() -> int:
        return utf16_len(closing(stack))

    def cut(at: int) -> None:
        """End the current part after ``cur[:at]``; the rest starts the next part."""
        nonlocal cur, cur_len, cur_open
        head, tail = cur[:at], cur[at:]
        # Tags open at the cut: replay the head from the part's opening state.
        state = list(cur_open)
        for a in head:
            _track(state, a)
        text = "".join(f"<{t}>" for t in cur_open) + "".join(head).rstrip() + closing(state)
        if text.strip():
            parts.append(text)
        cur_open = state
        cur = list(tail)
        while cur and cur[0].isspace():
            cur.pop(0)
        cur_len = utf16_len("".join(f"<{t}>" for t in cur_open) + "".join(cur))

    for atom in atoms:
        size = utf16_len(atom)
        if cur_len + size + reserve() + 16 > limit and cur:
            breaks = [i for i, a in enumerate(cur) if a == "\n"]
            spaces = [i for i, a in enumerate(cur) if a.isspace()]
            at = (
                breaks[-1] + 1
                if breaks and breaks[-1] > len(cur) // 2
                else (spaces[-1] + 1 if spaces else len(cur))
            )
            cut(at)
        cur.append(atom)
        cur_len += size
        _track(stack, atom)
    if cur:
        cut(len(cur))
    return parts
