"""Newsletter drafts: Markdown with front matter, converted to Telegram HTML and checked.

A draft file (``parse_draft``) or a coordinator's message (``build_draft``) is converted once to
Telegram HTML and checked against Telegram's limits (``check_sendable``), so that a bad draft is
refused with a one-line reason (``DraftError``) before anything is stored. Storing it is
``bot/newsletters/issues.py``'s ``create_issue``.
"""

from __future__ import annotations

import functools
import html
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import yaml

from bot.chat.markup import (
    MAX_ENTITIES,
    MAX_LINK_BYTES,
    TELEGRAM_CAPTION_LIMIT,
    TELEGRAM_TEXT_LIMIT,
    SplitError,
    measure,
    split_html,
)
from bot.languages import SUPPORTED_LANGUAGES
from bot.newsletters.definitions import Newsletter
from bot.newsletters.render import issue_reply

TEXT_LIMIT = TELEGRAM_TEXT_LIMIT
CAPTION_LIMIT = TELEGRAM_CAPTION_LIMIT
# An issue may go out as several messages (split by Telegram's rules, bot/chat/markup.py), but not more.
MAX_PARTS = 4
MAX_IMAGE_BYTES = 10 * 1024 * 1024


class DraftError(ValueError):
    """A draft that cannot be used; the message says why, in one line, for the editor."""


@dataclass
class Draft:
    newsletter: str
    texts: dict[str, str]  # lang -> Telegram HTML
    image: bytes | None = None
    image_name: str | None = None


_LANG_MARK = re.compile(r"^#\s*([a-z]{2})\s*$")
_LINK = re.compile(r"\[([^\]\n]+)\]\((https?://[^\s()<>\"]+)\)")
_BOLD = re.compile(r"\*\*(?=\S)(.+?)(?<=\S)\*\*")
_ITALIC = re.compile(r"(?<![*\w])[*_](?=[^\s*_])([^*_<>\n]+?)(?<=\S)[*_](?![*\w])")
_HEADING = re.compile(r"^#{1,6}\s+(.+)$")
_TAG = re.compile(r"<(/?)([a-z]+)[^>]*>")


def markdown_to_html(md: str) -> str:
    """The Markdown subset editors use: **bold**, *italic* or _italic_, [links](https://…),
    ``# headings`` (shown bold) and paragraphs. Everything else is escaped text.

    NUL characters are dropped first: they are invisible, PostgreSQL cannot store them, and the
    converter marks the links it set aside with them (NUL, number, NUL), so a text holding that
    mark itself would otherwise get a link copied into it, or fail."""
    md = md.replace("\x00", "")
    lines = md.replace("\r\n", "\n").replace("\r", "\n").strip().split("\n")
    text = "\n".join(_line_to_html(raw) for raw in lines)
    text = re.sub(r"\n{3,}", "\n\n", text)
    _check_nesting(text)
    return text


def _line_to_html(raw: str) -> str:
    line = html.escape(raw.rstrip(), quote=False)
    links: list[str] = []

    def keep_link(m: re.Match[str]) -> str:
        href = html.escape(html.unescape(m.group(2)), quote=True)
        links.append(f'<a href="{href}">{m.group(1)}</a>')
        return f"\x00{len(links) - 1}\x00"

    line = _LINK.sub(keep_link, line)
    if m := _HEADING.match(line):
        line = f"**{m.group(1)}**"
    line = _BOLD.sub(r"<b>\1</b>", line)
    line = _ITALIC.sub(r"<i>\1</i>", line)
    return re.sub(r"\x00(\d+)\x00", lambda m: links[int(m.group(1))], line)


def _check_nesting(text: str) -> None:
    stack: list[str] = []
    for m in _TAG.finditer(text):
        closing, tag = m.group(1) == "/", m.group(2)
        if not closing:
            stack.append(tag)
        elif not stack or stack.pop() != tag:
            raise DraftError("bold, italic and links must not overlap (check the * and ** marks)")
    if stack:
        raise DraftError("a bold or italic mark is not closed")


def split_languages(body: str) -> dict[str, str]:
    """Body sections, each started by a line ``# <lang>``; text before the first mark is German."""
    sections: dict[str, list[str]] = {}
    current = "de"
    for line in body.replace("\r\n", "\n").split("\n"):
        m = _LANG_MARK.match(line.strip())
        if m and m.group(1) in SUPPORTED_LANGUAGES:
            current = m.group(1)
            if current in sections and "".join(sections[current]).strip():
                raise DraftError(f"the language {current} appears twice")
            sections[current] = []
            continue
        if m:
            raise DraftError(
                f"unknown language mark '# {m.group(1)}'; use one of {', '.join(SUPPORTED_LANGUAGES)}"
            )
        sections.setdefault(current, []).append(line)
    return {lang: "\n".join(lines).strip() for lang, lines in sections.items() if "\n".join(lines).strip()}


# The message a subscriber in ``lang`` gets for an issue, as Telegram HTML: (newsletter, texts, lang).
Render = Callable[[str, dict[str, str], str], str]


def default_render(newsletters: dict[str, Newsletter]) -> Render:
    """The dialogue's wording of an issue (title line, note, text), without a running dialogue."""
    translations = _translations()
    return lambda newsletter, texts, lang: (
        issue_reply(newsletters, translations, newsletter, texts, lang).html
    )


@functools.cache
def _translations():
    from bot.i18n import Translations

    return Translations()


def check_sendable(draft: Draft, render: Render) -> None:
    """Refuse (``DraftError``) an issue that some subscriber could not get as Telegram accepts it.

    Every language counts, also those the issue lacks (they get the German text with a note):
    the message as ``render`` makes it (title line included) must fit Telegram's limits as
    ``bot.chat.markup`` measures them, whole as an image's caption, else split cleanly into at most
    ``MAX_PARTS`` messages, with no link cut."""
    for lang in SUPPORTED_LANGUAGES:
        source = lang if lang in draft.texts else "de"
        html_text = render(draft.newsletter, draft.texts, lang)
        if draft.image is not None:
            size = measure(html_text)
            if size.units > CAPTION_LIMIT:
                raise DraftError(
                    f"the {source} text is too long for an image caption: with the title line it has "
                    f"{size.units} characters for {lang} subscribers; a caption allows {CAPTION_LIMIT}"
                )
            if size.entities > MAX_ENTITIES or size.link_bytes > MAX_LINK_BYTES:
                raise DraftError(
                    f"the {source} text has too many links or formats for an image caption "
                    f"(at most {MAX_ENTITIES}, and {MAX_LINK_BYTES} bytes of link addresses)"
                )
            continue
        try:
            parts = split_html(html_text)
        except SplitError as exc:
            raise DraftError(f"the {source} text cannot be split into messages: {exc}") from None
        if len(parts) > MAX_PARTS:
            raise DraftError(
                f"the {source} text is too long: it needs {len(parts)} messages for {lang} subscribers "
                f"(Telegram allows {TEXT_LIMIT} characters in one, this bot sends at most {MAX_PARTS})"
            )


def build_draft(
    newsletter: str,
    body: str,
    newsletters: dict[str, Newsletter],
    *,
    image: bytes | None = None,
    image_name: str | None = None,
    render: Render | None = None,
) -> Draft:
    """Check and convert one issue; raises ``DraftError`` with a one-line reason.

    ``render`` makes the message a subscriber gets (default: the dialogue's wording), which
    ``check_sendable`` measures in every language."""
    if newsletter not in newsletters:
        raise DraftError(f"unknown newsletter {newsletter!r}; known: {', '.join(newsletters) or 'none'}")
    sections = split_languages(body)
    if not sections:
        raise DraftError("the issue has no text")
    if "de" not in sections:
        raise DraftError("the German text is required (it is the fallback for other languages)")
    if image is not None:
        if not image.startswith((b"\x89PNG", b"\xff\xd8")):
            raise DraftError("the image must be a JPEG or PNG file")
        if len(image) > MAX_IMAGE_BYTES:
            raise DraftError("the image is larger than 10 MB")
    texts = {}
    for lang, md in sections.items():
        try:
            converted = markdown_to_html(md)
        except DraftError as exc:
            raise DraftError(f"{lang}: {exc}") from None
        if not converted.strip():
            raise DraftError(f"the {lang} text is empty")
        texts[lang] = converted
    draft = Draft(newsletter, texts, image, image_name)
    check_sendable(draft, render or default_render(newsletters))
    return draft


def parse_draft(text: str, newsletters: dict[str, Newsletter], *, base_dir: Path | None = None) -> Draft:
    """A draft file: YAML front matter between ``---`` lines, then the texts::

    ---
    newsletter: "1.24"
    image: picture.jpg        # optional, relative to the draft file
    ---
    # de
    **Hallo!** Deutscher Text …
    # en
    English text …
    """
    lines = text.lstrip("\ufeff").replace("\r\n", "\n").split("\n")
    if not lines or lines[0].strip() != "---":
        raise DraftError("the draft must start with front matter: a line '---', newsletter: \"1.24\", '---'")
    try:
        end = next(i for i in range(1, len(lines)) if lines[i].strip() == "---")
    except StopIteration:
        raise DraftError("the front matter is not closed with a line '---'") from None
    try:
        meta = yaml.safe_load("\n".join(lines[1:end])) or {}
    except yaml.YAMLError:
        raise DraftError("the front matter is not valid YAML") from None
    if not isinstance(meta, dict):
        raise DraftError("the front matter must be 'key: value' lines")
    unknown = set(meta) - {"newsletter", "image"}
    if unknown:
        raise DraftError(f"unknown front matter key(s): {', '.join(sorted(map(str, unknown)))}")
    newsletter = str(meta.get("newsletter") or "")
    image = image_name = None
    if meta.get("image"):
        path = Path(str(meta["image"]))
        if base_dir is not None and not path.is_absolute():
            path = base_dir / path
        try:
            image = path.read_bytes()
        except OSError:
            raise DraftError(f"cannot read the image {str(meta['image'])!r}") from None
        image_name = path.name[:128]
    return build_draft(
        newsletter, "\n".join(lines[end + 1 :]), newsletters, image=image, image_name=image_name
    )
