"""Telegram's message limits on Telegram HTML: measure a message as Telegram does, and split long
ones into parts Telegram accepts.

Telegram parses a message's HTML into plain text and entities (bold, italic, links …) and counts
its limits on the result: at most 4,096 characters of text (1,024 for a caption), counted in
UTF-16 code units, the unit of its entity offsets. So a message is measured here the way Telegram
reads it (``parse``: the rules of tdlib's HTML parser): tags count nothing, ``&amp;`` counts one,
``&nbsp;`` (a named entity Telegram does not know) counts six, and a character outside the Basic
Multilingual Plane (most emoji) counts two.

``split_html`` cuts a message into parts of at most ``limit`` such units:

* it cuts at a line break where it can (in the second half of a part), else at a space, and a
  single word longer than a quarter of the limit is cut into pieces; a character entity such as
  ``&amp;`` and a tag are never cut;
* formatting open at a cut (``<b>``, ``<i>``, ``<blockquote expandable>`` …) is closed at the end of
  one part and opened again, with the same attributes, at the start of the next;
* a link (``<a href=…>…</a>``) is never cut: it goes whole into one part. A link whose text alone
  is longer than a part cannot be split cleanly, and ``SplitError`` says so (newsletter drafts are
  refused for it before anything is stored);
* a part holds at most ``MAX_ENTITIES`` (100) formatting entities, because Telegram formats only
  the first 100 of a message and shows the rest as plain text, and its links' targets stay below
  ``MAX_LINK_BYTES``: Telegram refuses a message whose entities are too large in all
  (``ENTITIES_TOO_LONG``), a limit it does not document.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

TELEGRAM_TEXT_LIMIT = 4096
TELEGRAM_CAPTION_LIMIT = 1024
MAX_ENTITIES = 100
MAX_LINK_BYTES = 6000
# Tags that carry an attribute a part cannot do without, and are never cut: a link, a custom emoji.
UNBREAKABLE = frozenset({"a", "tg-emoji"})

_NAMED = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}
# One token of Telegram HTML: a tag (quoted attribute values may hold '>'), a character entity
# (tdlib's rules: ``&#x`` hex, ``&#`` decimal, ``&name``; the ``;`` is optional), a line break, a
# run of other white space, a word, or a lone '<' or '&'.
_TOKEN = re.compile(
    r"<(?:[^<>\"']|\"[^\"]*\"|'[^']*')*>"
    r"|&#x[0-9a-fA-F]*;?|&#[0-9]*;?|&[a-zA-Z]*;?"
    r"|\n|[^\S\n]+|[^\s<&]+|[<&]"
)
_TAG_NAME = re.compile(r"</?\s*([^\s>/]*)")
_HREF = re.compile(r"""\bhref\s*=\s*("[^"]*"|'[^']*'|[^\s>]+)""", re.IGNORECASE)


class SplitError(ValueError):
    """A message that cannot be split without cutting an entity (a link longer than a part)."""


def utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


def decode_entity(token: str) -> str:
    """What Telegram shows for a token starting with '&' (tdlib's ``decode_html_entity``): the
    character of ``&lt; &gt; &amp; &quot;`` or of a numeric reference, else the token itself."""
    body = token[1:].removesuffix(";")
    code = None
    if body.startswith("#x"):
        code = int(body[2:], 16) if body[2:] else None
    elif body.startswith("#"):
        code = int(body[1:]) if body[1:] else None
    elif body in _NAMED:
        return _NAMED[body]
    if code is None or code == 0 or code >= 0x10FFFF or 0xD800 <= code <= 0xDFFF:
        return token
    return chr(code)


@dataclass
class Atom:
    """One piece of a message: ``raw`` markup, and ``plain``, the text Telegram shows for it."""

    raw: str
    plain: str = ""
    kind: str = "text"  # text | space | newline | open | close | unit (an unbreakable link)
    tag: str = ""
    entities: int = 0  # formatting entities it opens
    link_bytes: int = 0  # bytes of link targets in it

    @property
    def size(self) -> int:
        return utf16_len(self.plain)


def _tag_atom(raw: str) -> Atom:
    name = (_TAG_NAME.match(raw).group(1) or "").lower()
    if raw.startswith("</"):
        return Atom(raw, kind="close", tag=name)
    href = _HREF.search(raw)
    link = len(decode_all(href.group(1).strip("\"'")).encode()) if href else 0
    return Atom(raw, kind="open", tag=name, entities=1, link_bytes=link)


def decode_all(text: str) -> str:
    """Character entities resolved as Telegram resolves them (no tags expected)."""
    return re.sub(r"&#x[0-9a-fA-F]*;?|&#[0-9]*;?|&[a-zA-Z]*;?", lambda m: decode_entity(m.group()), text)


def parse(markup: str) -> list[Atom]:
    """``markup`` as a list of atoms, in order."""
    atoms = []
    for token in _TOKEN.findall(markup):
        if token.startswith("<") and len(token) > 1:
            atoms.append(_tag_atom(token))
        elif token.startswith("&"):
            atoms.append(Atom(token, decode_entity(token)))
        elif token == "\n":
            atoms.append(Atom(token, token, "newline"))
        elif token.isspace():
            atoms.append(Atom(token, token, "space"))
        else:
            atoms.append(Atom(token, token))
    return atoms


def plain_text(markup: str) -> str:
    """The text a user sees: tags removed, character entities resolved as Telegram does."""
    return "".join(a.plain for a in parse(markup) if a.kind not in ("open", "close"))


@dataclass(frozen=True)
class Size:
    """A message as Telegram counts it: UTF-16 units of text, entities, bytes of link targets."""

    units: int
    entities: int
    link_bytes: int


def measure(markup: str) -> Size:
    atoms = parse(markup)
    return Size(
        sum(a.size for a in atoms),
        sum(a.entities for a in atoms),
        sum(a.link_bytes for a in atoms),
    )


def _units(atoms: list[Atom], step: int) -> list[Atom]:
    """Group every unbreakable tag with its content into one atom; cut words longer than ``step``."""
    out: list[Atom] = []
    i = 0
    while i < len(atoms):
        atom = atoms[i]
        if atom.kind == "open" and atom.tag in UNBREAKABLE:
            depth, j = 0, i
            while j < len(atoms):
                if atoms[j].kind == "open" and atoms[j].tag == atom.tag:
                    depth += 1
                elif atoms[j].kind == "close" and atoms[j].tag == atom.tag:
                    depth -= 1
                    if depth == 0:
                        break
                j += 1
            group = atoms[i : j + 1]
            out.append(
                Atom(
                    "".join(a.raw for a in group),
                    "".join(a.plain for a in group),
                    "unit",
                    atom.tag,
                    sum(a.entities for a in group),
                    sum(a.link_bytes for a in group),
                )
            )
            i = j + 1
            continue
        if atom.kind == "text" and not atom.raw.startswith("&") and utf16_len(atom.raw) > step:
            piece = ""
            for ch in atom.raw:
                if utf16_len(piece + ch) > step:
                    out.append(Atom(piece, piece))
                    piece = ""
                piece += ch
            if piece:
                out.append(Atom(piece, piece))
        else:
            out.append(atom)
        i += 1
    return out


def _after(state: list[Atom], atoms: list[Atom]) -> list[Atom]:
    """The tags open after ``atoms``, starting from ``state``."""
    state = list(state)
    for a in atoms:
        if a.kind == "open":
            state.append(a)
        elif a.kind == "close" and state and state[-1].tag == a.tag:
            state.pop()
    return state


def split_html(
    markup: str,
    limit: int = TELEGRAM_TEXT_LIMIT,
    *,
    max_entities: int = MAX_ENTITIES,
    max_link_bytes: int = MAX_LINK_BYTES,
) -> list[str]:
    """``markup`` as parts Telegram accepts (see the module docstring); raises ``SplitError``."""
    if utf16_len(markup) <= limit and markup.count("<") <= max_entities and "href" not in markup:
        return [markup]  # the hot path of every reply: the text is at most the markup
    size = measure(markup)
    if size.units <= limit and size.entities <= max_entities and size.link_bytes <= max_link_bytes:
        return [markup]
    splitter = _Splitter(limit, max_entities, max_link_bytes)
    for atom in _units(parse(markup), max(1, limit // 4)):
        splitter.add(atom)
    return splitter.finish()


class _Splitter:
    """Fills parts atom by atom; a part that would overflow is cut at its last line break in its
    second half, else at its last space, else where it stands. Tags open at a cut are closed at
    the end of the part and opened again at the start of the next."""

    def __init__(self, limit: int, max_entities: int, max_link_bytes: int):
        self.limit, self.max_entities, self.max_link_bytes = limit, max_entities, max_link_bytes
        self.parts: list[str] = []
        self.opened: list[Atom] = []  # tags open at the start of the current part
        self.cur: list[Atom] = []
        self.units = self.entities = self.links = 0

    def add(self, atom: Atom) -> None:
        while self.cur and not self._fits(atom):
            self._cut(self._cut_point())
        if not self._fits(atom):
            if atom.kind == "unit":
                raise SplitError(
                    f"a link with {atom.size} characters of text and {atom.link_bytes} bytes of address "
                    f"does not fit into one message ({self.limit} characters, {self.max_link_bytes} bytes "
                    "of link addresses)"
                )
            raise SplitError("the formatting is nested too deeply to be split")
        self.cur.append(atom)
        self.units += atom.size
        self.entities += atom.entities
        self.links += atom.link_bytes

    def finish(self) -> list[str]:
        if self.cur:
            self._cut(len(self.cur))
        return self.parts

    def _fits(self, atom: Atom) -> bool:
        return (
            self.units + atom.size <= self.limit
            and self.entities + atom.entities <= self.max_entities
            and self.links + atom.link_bytes <= self.max_link_bytes
        )

    def _cut_point(self) -> int:
        cur = self.cur
        breaks = [i for i, a in enumerate(cur) if a.kind == "newline"]
        spaces = [i for i, a in enumerate(cur) if a.kind in ("space", "newline")]
        if breaks and breaks[-1] > len(cur) // 2:
            return breaks[-1] + 1
        if spaces and spaces[-1] > 0:
            return spaces[-1] + 1
        return len(cur)

    def _cut(self, at: int) -> None:
        head, tail = self.cur[:at], self.cur[at:]
        while head and head[-1].kind in ("space", "newline"):
            head.pop()
        state = _after(self.opened, head)
        text = "".join(a.raw for a in self.opened) + "".join(a.raw for a in head)
        text += "".join(f"</{a.tag}>" for a in reversed(state))
        if plain_text(text).strip():
            self.parts.append(text)
        self.opened = _after(self.opened, self.cur[:at])
        while tail and tail[0].kind in ("space", "newline"):
            tail.pop(0)
        self.cur = tail
        self.units = sum(a.size for a in tail)
        self.entities = len(self.opened) + sum(a.entities for a in tail)
        self.links = sum(a.link_bytes for a in self.opened) + sum(a.link_bytes for a in tail)
