"""What the core answers with: replies (HTML text + buttons), built the same for every desk.

Replies use the small HTML subset that Telegram accepts (<b>, <i>); every inserted value is
escaped with ``esc``. A button's data must decode through the one codec (``bot.chat.buttons``):
a button the router could not route is a bug, refused where it is built.

Replies for right-to-left languages get every Latin-script run and every number wrapped in
Unicode isolates in one place (``finish``), so names like "Sozial- und Wohnungsamt" and measure
numbers read correctly inside Arabic or Persian text.
"""

from __future__ import annotations

import functools
import html
import re
from dataclasses import dataclass, field

from bot.chat import buttons
from bot.languages import is_rtl, isolate_latin_runs


@dataclass(frozen=True)
class Button:
    label: str
    data: str

    def __post_init__(self) -> None:
        if not _routable(self.data):
            raise ValueError(f"button data the router cannot route: {self.data!r}")


@functools.lru_cache(maxsize=4096)
def _routable(data: str) -> bool:
    """Every reply builds buttons, and most of their data repeats ("M", "T", "m:4.14"): decoded once."""
    return buttons.decode(data) is not None


@dataclass
class Reply:
    """One message. ``toast`` marks a short notice (Telegram shows it as the button's answer)."""

    html: str
    buttons: list[list[Button]] = field(default_factory=list)
    lang: str = "de"
    toast: bool = False


def esc(value: object) -> str:
    return html.escape(str(value), quote=False)


def finish(replies: list[Reply]) -> list[Reply]:
    """The one place where right-to-left replies get Latin runs and numbers isolated."""
    for reply in replies:
        if is_rtl(reply.lang):
            reply.html = _isolate_html(reply.html)
            reply.buttons = [
                [Button(isolate_latin_runs(b.label), b.data) for b in row] for row in reply.buttons
            ]
    return replies


def status_label(_, status: str) -> str:
    """A status value in words, through the gettext function ``_``."""
    return {
        "implemented": _("implemented"),
        "on_track": _("in progress, on track"),
        "delayed": _("in progress, delayed"),
        "not_started": _("not started"),
        "continuous": _("continuous task"),
        "dropped": _("dropped"),
    }.get(status, status)


_TAG_SPLIT = re.compile(r"(<[^>]*>)")


def _isolate_html(markup: str) -> str:
    """Isolate Latin runs and numbers in the text parts of our small HTML subset."""
    parts = _TAG_SPLIT.split(markup)
    for i in range(0, len(parts), 2):
        if parts[i]:
            parts[i] = esc(isolate_latin_runs(html.unescape(parts[i])))
    return "".join(parts)
