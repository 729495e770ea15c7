"""The console chat: drives the same router as Telegram, buttons shown as numbered choices.

Everything a Telegram chat can do works here too, staff flows included: ``/start <invitation>``
links the console's chat (id 0) to a staff member, and their status answers, ``/mymeasures``,
``/away``, ``/report`` (in the console: a pointer to ``ankommen report``) and a coordinator's
``/newsletter`` then go through the same desks."""

from __future__ import annotations

import html
import re
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TextIO

from bot.chat.replies import Button, Reply
from bot.chat.router import Conversation, Inbound, Kind, SendFiles
from bot.languages import is_rtl

CONSOLE_USER = 0
_TAG = re.compile(r"</?(b|i)>")


def render(reply: Reply, *, color: bool = False) -> tuple[str, list[Button]]:
    """Plain text for a terminal, and the buttons in the order they are numbered."""
    text = reply.html
    if color:
        text = text.replace("<b>", "\x1b[1m").replace("</b>", "\x1b[0m")
        text = text.replace("<i>", "\x1b[3m").replace("</i>", "\x1b[0m")
    text = html.unescape(_TAG.sub("", text))
    if is_rtl(reply.lang):
        # Right-to-left paragraphs: a leading RLM lets bidi-aware terminals align them.
        text = "\n".join("\u200f" + line if line else line for line in text.split("\n"))
    flat = [b for row in reply.buttons for b in row]
    lines = [text]
    if flat:
        lines.append("")
        lines += [f"  [{i}] {b.label}" for i, b in enumerate(flat, 1)]
    return "\n".join(lines), flat


class ConsoleChat:
    def __init__(
        self,
        conversation: Conversation,
        *,
        out: TextIO = sys.stdout,
        color: bool | None = None,
        files: Path | None = None,
    ):
        self.conversation = conversation
        self.dialogue = conversation.dialogue
        self.out = out
        self.color = out.isatty() if color is None else color
        self.files = files  # where /report's files go
        self.buttons: list[Button] = []

    def show(self, replies: list[Reply]) -> None:
        for reply in replies:
            text, buttons = render(reply, color=self.color)
            if buttons:
                self.buttons = buttons
            self.out.write(text + "\n\n")
        self.out.flush()

    def handle(self, line: str) -> list[Reply]:
        line = line.strip()
        if line.isdigit() and self.buttons:
            index = int(line) - 1
            if 0 <= index < len(self.buttons):
                return self._route(Inbound(CONSOLE_USER, Kind.BUTTON, self.buttons[index].data))
        return self._route(Inbound(CONSOLE_USER, Kind.TEXT, line))

    def _route(self, inbound: Inbound) -> list[Reply]:
        outcome = self.conversation.handle(inbound)
        for effect in outcome.effects:
            if isinstance(effect, SendFiles) and self.files is None:
                self.out.write("(the report is a file: write it with `ankommen report --out FILE`)\n\n")
            elif isinstance(effect, SendFiles):
                self.files.mkdir(parents=True, exist_ok=True)
                for _kind, data, name, caption in effect.files:
                    (self.files / name).write_bytes(data)
                    self.out.write(f"{caption}: {self.files / name}\n")
        return outcome.replies

    def run(self, read: Callable[[str], str] = input, suggested_language: str | None = None) -> int:
        self.out.write("Ankommen: type a question, a number to press a button, /quit to leave.\n\n")
        self.show(self.dialogue.start(CONSOLE_USER, suggested_language))
        while True:
            try:
                line = read("> ")
            except (EOFError, KeyboardInterrupt):
                self.out.write("\n")
                return 0
            if line.strip() in ("/quit", "/exit"):
                return 0
            if not line.strip():
                continue
            self.show(self.handle(line))
