"""Residents' deep links: ``https://t.me/<bot>?start=<payload>``, for QR codes on posters.

A payload opens a measure, an offer or a language, so a poster in a counselling office can lead
straight to its card in the reader's language:

    m_4-14        measure 4.14 (the dot written as "-": a payload allows only A-Z a-z 0-9 _ -)
    m_4-14_ar     measure 4.14, in Arabic (unless the resident has chosen a language)
    o_housing-counselling[_uk]   an offer, by its id in data/concept/offers.yaml
    l_fa          choose Persian

Staff invitations have their own shape (``bot.staff.directory.CODE_PREFIX`` and 24 random
characters) and never look like these. A payload that is neither is a plain /start.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

MAX_PAYLOAD = 64  # Telegram's limit for a start parameter
_ALLOWED = re.compile(r"[A-Za-z0-9_-]{1,64}")
KINDS = {"m": "measure", "o": "offer", "l": "language"}
_KIND_OF = {name: code for code, name in KINDS.items()}


@dataclass(frozen=True)
class Link:
    kind: str  # measure | offer | language
    key: str  # a measure number ("4.14"), an offer id, or a language code
    lang: str | None = None


def payload(kind: str, key: str, lang: str | None = None) -> str:
    """The start parameter for a link; ValueError if Telegram would not carry it."""
    if kind not in _KIND_OF:
        raise ValueError(f"unknown link kind {kind!r}")
    code = key.replace(".", "-") if kind == "measure" else key
    text = "_".join([_KIND_OF[kind], code, *([lang] if lang and kind != "language" else [])])
    if not _ALLOWED.fullmatch(text) or parse(text) != Link(kind, key, None if kind == "language" else lang):
        raise ValueError(f"{kind} {key!r} cannot be written as a start parameter")
    return text


def parse(text: str) -> Link | None:
    """The link a payload names, or None (a plain /start, or a staff invitation)."""
    if not _ALLOWED.fullmatch(text or ""):
        return None
    parts = text.split("_")
    kind = KINDS.get(parts[0])
    if kind is None or not 2 <= len(parts) <= (2 if kind == "language" else 3) or not all(parts[1:]):
        return None
    key = parts[1].replace("-", ".") if kind == "measure" else parts[1]
    return Link(kind, key, parts[2] if len(parts) == 3 else None)
