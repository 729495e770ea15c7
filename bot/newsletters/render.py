"""A newsletter issue as a subscriber gets it: title, the text in their language, unsubscribe."""

from __future__ import annotations

from bot.chat.replies import Button, Reply, esc, finish
from bot.i18n import Translations


def issue_reply(
    newsletters: dict, translations: Translations, newsletter: str, texts: dict[str, str], lang: str
) -> Reply:
    """The newsletter's title, the text in ``lang`` (or the German text with a one-line note),
    and a one-tap unsubscribe button. ``texts`` is Telegram HTML made by
    ``bot.newsletters.issues.markdown_to_html``; it is appended after the right-to-left pass so
    that its length stays what the draft check measured."""
    _ = translations.get(lang).gettext
    n = newsletters.get(newsletter)
    head = "<b>" + esc(n.title(lang) if n else newsletter) + "</b>\n\n"
    if lang in texts:
        body = texts[lang]
    else:
        body = texts["de"]
        note = _("This issue is not available in your language. Here is the German text.")
        head += "<i>" + esc(note) + "</i>\n\n"
    [reply] = finish([Reply(head, [[Button(_("Unsubscribe"), f"U:{newsletter}")]], lang)])
    reply.html += body
    return reply
