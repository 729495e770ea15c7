"""Newsletters (measures 1.24 and 1.32): definitions, subscriptions, drafts and the issue life cycle.

* **Definitions** live in ``data/newsletters.yaml`` (validated by ``ankommen data check``): a
  measure number as id, its offer, and a title and description per language. They are read from
  ``data/`` at start, not imported into the store: they change with a release, like the code.
* **Subscriptions** (table ``subscription``): chat id, newsletter, status, language. Leaving deletes
  the row. Delivery sets ``blocked`` (HTTP 403) or ``inactive`` (HTTP 400 chat not found).
* **Drafts**: Markdown with front matter (see ``parse_draft``), converted once to Telegram HTML and
  checked against Telegram's limits, so that a bad draft is refused before anything is stored.
* **Issue states**: ``draft`` → ``scheduled`` → (due) ``sending`` → ``sent``; a scheduled issue
  found more than ``hold_hours`` overdue (the bot was down) becomes ``held`` until someone sends
  it; ``cancelled`` from any state before ``sent``. ``start_sending`` creates the outbox (one
  ``Delivery`` per active subscriber) and sets ``sending`` in one transaction; ``bot/newsletters/outbox.py``
  delivers.
"""

from __future__ import annotations

import functools
import html
import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Protocol

import sqlalchemy as sa
import yaml
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

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
from bot.models import Delivery, NewsletterIssue, Resident, Subscription, utcnow
from bot.store import db

TEXT_LIMIT = TELEGRAM_TEXT_LIMIT
CAPTION_LIMIT = TELEGRAM_CAPTION_LIMIT
# An issue may go out as several messages (split by Telegram's rules, bot/chat/markup.py), but not more.
MAX_PARTS = 4
MAX_IMAGE_BYTES = 10 * 1024 * 1024
OPEN_STATES = ("pending", "claimed", "sending")
MISSING_LANGUAGE_POLICIES = ("german", "skip")


# --- definitions ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Newsletter:
    id: str  # the measure number
    offer: str
    texts: dict[str, tuple[str, str]]  # lang -> (title, description)

    def text(self, lang: str) -> tuple[str, str]:
        return self.texts.get(lang) or self.texts.get("en") or self.texts.get("de") or (self.id, "")

    def title(self, lang: str) -> str:
        return self.text(lang)[0]


def load_definitions(data_dir: Path) -> dict[str, Newsletter]:
    """The newsletters of ``data_dir/newsletters.yaml`` in file order (validated by ``data check``)."""
    path = data_dir / "newsletters.yaml"
    if not path.exists():
        return {}
    doc = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    out: dict[str, Newsletter] = {}
    for n in doc.get("newsletters") or []:
        texts = {lang: (str(t["title"]), str(t["description"])) for lang, t in (n.get("texts") or {}).items()}
        out[str(n["id"])] = Newsletter(str(n["id"]), str(n.get("offer") or ""), texts)
    return out


# --- subscriptions ------------------------------------------------------------------------------


class Subscriptions(Protocol):
    """Where residents' subscriptions are kept (memory for the console, the store for Telegram)."""

    newsletters: dict[str, Newsletter]

    def active(self, chat_id: int) -> set[str]: ...

    def subscribe(self, chat_id: int, newsletter: str, lang: str) -> None: ...

    def unsubscribe(self, chat_id: int, newsletter: str) -> bool: ...


class MemorySubscriptions:
    def __init__(self, newsletters: dict[str, Newsletter]):
        self.newsletters = newsletters
        self._subs: dict[int, set[str]] = {}

    def active(self, chat_id: int) -> set[str]:
        return set(self._subs.get(chat_id, ()))

    def subscribe(self, chat_id: int, newsletter: str, lang: str) -> None:
        self._subs.setdefault(chat_id, set()).add(newsletter)

    def unsubscribe(self, chat_id: int, newsletter: str) -> bool:
        had = newsletter in self._subs.get(chat_id, set())
        self._subs.get(chat_id, set()).discard(newsletter)
        return had


@db.retry_transient()
class StoreSubscriptions:
    """Subscriptions in the store. Subscribing also creates the resident row if it is missing."""

    def __init__(self, engine: Engine, newsletters: dict[str, Newsletter]):
        self.engine = engine
        self.newsletters = newsletters

    def active(self, chat_id: int) -> set[str]:
        with Session(self.engine) as s:
            q = select(Subscription.newsletter).where(
                Subscription.chat_id == chat_id, Subscription.status == "active"
            )
            return set(s.exec(q).all())

    def subscribe(self, chat_id: int, newsletter: str, lang: str) -> None:
        for _attempt in range(3):  # a concurrent insert of the same row: read it again
            try:
                with Session(self.engine) as s:
                    if s.get(Resident, chat_id) is None:
                        s.add(Resident(chat_id=chat_id, language=lang))
                        s.flush()
                    row = s.exec(
                        select(Subscription).where(
                            Subscription.chat_id == chat_id, Subscription.newsletter == newsletter
                        )
                    ).first()
                    if row is None:
                        s.add(Subscription(chat_id=chat_id, newsletter=newsletter, language=lang))
                    else:
                        row.status, row.language = "active", lang
                        s.add(row)
                    s.commit()
                    return
            except IntegrityError:
                continue
        raise RuntimeError("could not store the subscription")

    def unsubscribe(self, chat_id: int, newsletter: str) -> bool:
        with Session(self.engine) as s:
            n = s.exec(
                sa.delete(Subscription).where(
                    Subscription.chat_id == chat_id, Subscription.newsletter == newsletter
                )
            ).rowcount
            s.commit()
            return bool(n)


# --- drafts: Markdown with front matter -> Telegram HTML ------------------------------------------


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
    from bot.newsletters.render import issue_reply

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


# --- issues -------------------------------------------------------------------------------------


class IssueError(ValueError):
    """An operation the issue's state does not allow, or an unknown issue."""


def create_issue(engine: Engine, draft: Draft) -> int:
    with Session(engine) as s:
        issue = NewsletterIssue(
            newsletter=draft.newsletter, texts=draft.texts, image=draft.image, image_name=draft.image_name
        )
        s.add(issue)
        s.commit()
        return issue.id


def get_issue(engine: Engine, issue_id: int) -> NewsletterIssue:
    with Session(engine) as s:
        issue = s.get(NewsletterIssue, issue_id)
        if issue is None:
            raise IssueError(f"there is no issue {issue_id}")
        s.expunge(issue)
        return issue


@db.retrying
def _transition(engine: Engine, issue_id: int, allowed: tuple[str, ...], **values) -> str:
    """Set ``values`` if the issue is in one of ``allowed``; returns the state it had."""
    with Session(engine) as s:
        issue = s.get(NewsletterIssue, issue_id)
        if issue is None:
            raise IssueError(f"there is no issue {issue_id}")
        before = issue.state
        n = s.exec(
            sa.update(NewsletterIssue)
            .where(NewsletterIssue.id == issue_id, NewsletterIssue.state.in_(allowed))
            .values(**values)
        ).rowcount
        if not n:
            raise IssueError(
                f"issue {issue_id} is {before}; this is possible only when {' or '.join(allowed)}"
            )
        s.commit()
        return before


def schedule(engine: Engine, issue_id: int, at: datetime, *, now: datetime | None = None) -> None:
    if at <= (now or utcnow()):
        raise IssueError("the time must be in the future")
    _transition(engine, issue_id, ("draft", "scheduled", "held"), state="scheduled", scheduled_at=at)


def discard(engine: Engine, issue_id: int) -> None:
    """Discard a draft or a held issue (a coordinator's "Discard"): never one being sent or
    scheduled, which only ``cancel`` (the operator's command) stops."""
    _transition(engine, issue_id, ("draft", "held"), state="cancelled", finished_at=utcnow())


def cancel(engine: Engine, issue_id: int) -> int:
    """Cancel an issue not yet sent; deliveries not yet started are cancelled too (returns how many)."""
    with Session(engine) as s:
        issue = s.get(NewsletterIssue, issue_id)
        if issue is None:
            raise IssueError(f"there is no issue {issue_id}")
        allowed = ("draft", "scheduled", "held", "sending")
        n = s.exec(
            sa.update(NewsletterIssue)
            .where(NewsletterIssue.id == issue_id, NewsletterIssue.state.in_(allowed))
            .values(state="cancelled", finished_at=utcnow())
        ).rowcount
        if not n:
            raise IssueError(f"issue {issue_id} is {issue.state} and cannot be cancelled")
        stopped = s.exec(
            sa.update(Delivery)
            .where(Delivery.issue_id == issue_id, Delivery.state.in_(("pending", "claimed")))
            .values(state="cancelled", worker=None, lease_until=None)
        ).rowcount
        s.commit()
        return stopped


@db.retrying
def resend_unknown(engine: Engine, issue_id: int) -> int:
    """Queue the ``unknown`` deliveries of an issue again (an editor's decision); returns how many.

    ``unknown`` rows were in flight at a crash or a timeout: some arrived, some did not, and the
    Bot API cannot say which. Sending them again reaches everyone who missed the issue, at the
    price of a second copy for those who did get it. Nothing does this automatically."""
    with Session(engine) as s:
        issue = s.get(NewsletterIssue, issue_id)
        if issue is None:
            raise IssueError(f"there is no issue {issue_id}")
        if issue.state not in ("sending", "sent"):
            raise IssueError(f"issue {issue_id} is {issue.state}; only a sent issue has unknown deliveries")
        n = s.exec(
            sa.update(Delivery)
            .where(Delivery.issue_id == issue_id, Delivery.state == "unknown")
            .values(state="pending", worker=None, lease_until=None, last_error=None)
        ).rowcount
        if n:
            s.exec(
                sa.update(NewsletterIssue)
                .where(NewsletterIssue.id == issue_id)
                .values(state="sending", finished_at=None)
            )
        s.commit()
        return n


@db.retrying
def start_sending(engine: Engine, issue_id: int, *, missing_language: str = "german") -> int:
    """Make the outbox and set ``sending``, in one transaction; returns the rows created.

    Idempotent: an issue already ``sending`` is left as it is (0 rows), and the unique
    (issue, chat) constraint makes a second outbox impossible anyway. Subscribers whose language
    the issue lacks get a ``skipped`` row under ``missing_language="skip"``, else a pending row
    (they receive the German text with a note).
    """
    with Session(engine) as s:
        issue = s.get(NewsletterIssue, issue_id)
        if issue is None:
            raise IssueError(f"there is no issue {issue_id}")
        if issue.state == "sending":
            return 0
        n = s.exec(
            sa.update(NewsletterIssue)
            .where(NewsletterIssue.id == issue_id, NewsletterIssue.state.in_(("draft", "scheduled", "held")))
            .values(state="sending", started_at=utcnow())
        ).rowcount
        if not n:
            raise IssueError(f"issue {issue_id} is {issue.state} and cannot be sent")
        subscribers = s.exec(
            select(Subscription.chat_id, Resident.language, Subscription.language)
            .join(Resident, Resident.chat_id == Subscription.chat_id)
            .where(Subscription.newsletter == issue.newsletter, Subscription.status == "active")
            .order_by(Subscription.id)
        ).all()
        have = set(s.exec(select(Delivery.chat_id).where(Delivery.issue_id == issue_id)).all())
        rows = []
        for chat_id, resident_lang, sub_lang in subscribers:
            if chat_id in have:
                continue
            lang = resident_lang or sub_lang
            state = "pending"
            if lang not in issue.texts and "de" not in issue.texts:
                state = "skipped"
            elif lang not in issue.texts and missing_language == "skip":
                state = "skipped"
            rows.append({"issue_id": issue_id, "chat_id": chat_id, "language": lang, "state": state})
        if rows:
            s.execute(sa.insert(Delivery), rows)
        if not any(r["state"] == "pending" for r in rows):
            s.exec(
                sa.update(NewsletterIssue)
                .where(NewsletterIssue.id == issue_id)
                .values(state="sent", finished_at=utcnow())
            )
        s.commit()
        return len(rows)


@dataclass
class DueResult:
    started: list[int] = field(default_factory=list)
    held: list[int] = field(default_factory=list)


@db.retrying
def promote_due(
    engine: Engine, *, hold_hours: float, missing_language: str = "german", now: datetime | None = None
) -> DueResult:
    """Scheduled issues whose time has come start sending; those overdue by more than
    ``hold_hours`` are held until someone sends them (``ankommen newsletter send`` or Telegram)."""
    now = now or utcnow()
    result = DueResult()
    with Session(engine) as s:
        due = s.exec(
            select(NewsletterIssue.id, NewsletterIssue.scheduled_at).where(
                NewsletterIssue.state == "scheduled", NewsletterIssue.scheduled_at <= now
            )
        ).all()
    for issue_id, at in due:
        if now - at > timedelta(hours=hold_hours):
            try:
                _transition(engine, issue_id, ("scheduled",), state="held")
                result.held.append(issue_id)
            except IssueError:
                pass  # someone else moved it meanwhile
            continue
        try:
            start_sending(engine, issue_id, missing_language=missing_language)
            result.started.append(issue_id)
        except IssueError:
            pass
    return result


@db.retrying
def finish_done(engine: Engine) -> list[int]:
    """Issues in ``sending`` with no open delivery left become ``sent``; returns their ids."""
    with Session(engine) as s:
        open_rows = (
            select(Delivery.id)
            .where(Delivery.issue_id == NewsletterIssue.id, Delivery.state.in_(OPEN_STATES))
            .exists()
        )
        ids = s.exec(select(NewsletterIssue.id).where(NewsletterIssue.state == "sending", ~open_rows)).all()
        if ids:
            s.exec(
                sa.update(NewsletterIssue)
                .where(NewsletterIssue.id.in_(ids), NewsletterIssue.state == "sending")
                .values(state="sent", finished_at=utcnow())
            )
            s.commit()
        return list(ids)


def status(engine: Engine, issue_id: int) -> dict:
    """Counts per delivery state and per language, for ``ankommen newsletter status``."""
    issue = get_issue(engine, issue_id)
    with Session(engine) as s:
        rows = s.exec(
            select(Delivery.language, Delivery.state, sa.func.count())
            .where(Delivery.issue_id == issue_id)
            .group_by(Delivery.language, Delivery.state)
        ).all()
    states: Counter[str] = Counter()
    languages: dict[str, dict[str, int]] = {}
    for lang, state, n in rows:
        states[state] += n
        languages.setdefault(lang, {})[state] = n
    return {
        "id": issue.id,
        "newsletter": issue.newsletter,
        "state": issue.state,
        "languages_written": sorted(issue.texts),
        "scheduled_at": issue.scheduled_at.isoformat() if issue.scheduled_at else None,
        "started_at": issue.started_at.isoformat() if issue.started_at else None,
        "finished_at": issue.finished_at.isoformat() if issue.finished_at else None,
        "total": sum(states.values()),
        "states": dict(sorted(states.items())),
        "languages": {k: dict(sorted(v.items())) for k, v in sorted(languages.items())},
    }


def list_issues(engine: Engine) -> list[dict]:
    with Session(engine) as s:
        issues = s.exec(
            select(
                NewsletterIssue.id,
                NewsletterIssue.newsletter,
                NewsletterIssue.state,
                NewsletterIssue.scheduled_at,
                NewsletterIssue.created_at,
                NewsletterIssue.texts,
            ).order_by(NewsletterIssue.id)
        ).all()
    return [
        {
            "id": i,
            "newsletter": n,
            "state": st,
            "scheduled_at": at.isoformat() if at else None,
            "created_at": created.isoformat(),
            "languages": sorted(texts),
        }
        for i, n, st, at, created, texts in issues
    ]


def subscriber_count(engine: Engine, newsletter: str) -> int:
    with Session(engine) as s:
        return s.exec(
            select(sa.func.count())
            .select_from(Subscription)
            .where(Subscription.newsletter == newsletter, Subscription.status == "active")
        ).one()
