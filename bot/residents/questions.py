"""The residents' questions: an answer in three layers (safety, search, honest no-match), more
results, and votes.

A mixin of ``bot.residents.dialogue.Dialogue``. ``bot.residents.answers.answer`` decides what a
question gets; this module turns it into cards and records what the city learns from it (gaps,
referrals, safety counts, votes), never with a user id.
"""

from __future__ import annotations

from babel.numbers import format_decimal

from bot.chat.replies import Button, Reply, esc
from bot.content.catalog import pick_text
from bot.languages import isolate, native_name
from bot.residents.answers import answer
from bot.residents.cards import referral_lines, safety_lines
from bot.search.index import MAX_QUERY_CHARS, Hit
from bot.search.text import detect_language

MAX_INPUT_CHARS = 1000


class QuestionScreens:
    def vote(self, user_id: int, direction: str, entity: str, key: str) -> list[Reply] | None:
        """A 👍/👎 on a measure (``m``) or an offer (``o``): counted once per session, no user id."""
        lang = self.language_of(user_id)
        _ = self._t(lang).gettext
        known = {"m": self.catalog.measures, "o": self.catalog.offers}
        if direction not in ("u", "d") or entity not in known or key not in known[entity]:
            return None
        session = self._session(user_id)
        target = f"{entity}:{key}"
        if target not in session.votes:
            session.votes.add(target)
            self.recorder.record_vote("measure" if entity == "m" else "offer", key, direction == "u")
        return [Reply(esc(_("Thank you for your feedback!")), [], lang, toast=True)]

    def ask(self, user_id: int, text: str) -> list[Reply]:
        lang = self.language_of(user_id)
        _ = self._t(lang).gettext
        if not text:
            return [self._ask_prompt(lang)]
        replies: list[Reply] = []
        if len(text) > MAX_INPUT_CHARS:
            text = text[:MAX_INPUT_CHARS]
            notice = _("Your message is long. I read only its first {limit} characters.")
            replies.append(
                Reply(esc(notice.format(limit=format_decimal(MAX_INPUT_CHARS, locale=lang))), [], lang)
            )
        ans = answer(self.catalog, text, lang, limit=10)
        hits = ans.hits
        session = self._session(user_id)
        session.hits = hits
        if ans.safety is not None:
            # Safety first, whatever else the message asks. Never stored as a gap, never logged
            # with its text: only the topic is counted.
            self.recorder.record_safety(ans.safety.topic)
            replies.append(self.safety_card(lang, ans.safety.topic, more=bool(hits)))
            if hits:
                replies.append(self._result(lang, hits, 0))
            return replies
        if not hits:
            self.recorder.record_gap(text, lang)
            replies.append(self.no_match(lang))
        else:
            if ans.referral is not None:
                self.recorder.record_referral(text, lang, ans.referral)
            replies.append(self._result(lang, hits, 0))
        detected = detect_language(text[:MAX_QUERY_CHARS], hint=lang)  # the search's own guess
        if detected and detected != lang and detected in self.languages:
            _ = self._t(detected).gettext  # the offer is made in the language the question is in
            replies.append(
                Reply(
                    esc(
                        _("Your question looks like {language}. Do you want to switch to {language}?").format(
                            language=native_name(detected)
                        )
                    ),
                    [[Button(native_name(detected), f"L:{detected}")]],
                    detected,
                )
            )
        return replies

    def more_results(self, user_id: int, index: int) -> list[Reply]:
        lang = self.language_of(user_id)
        hits = self._session(user_id).hits
        if not 0 < index < len(hits):
            raise IndexError(index)
        return [self._result(lang, hits, index)]

    def _result(self, lang: str, hits: list[Hit], index: int) -> Reply:
        _ = self._t(lang).gettext
        hit = hits[index]
        if hit.kind == "referral":
            reply = self.referral_card(lang, hit.id)
        elif hit.kind == "offer":
            reply = self.offer_card(lang, self.catalog.offers[hit.id], measure=hit.measure)
        else:
            reply = self.measure_card(lang, self.catalog.measures[hit.id])
        if len(hits) > 1:
            header = esc(_("Answer {n} of {total}").format(n=index + 1, total=len(hits)))
            reply.html = f"<i>{header}</i>\n" + reply.html
        if index + 1 < len(hits):
            reply.buttons.insert(0, [Button(_("More results"), f"R:{index + 1}")])
        return reply

    def safety_card(self, lang: str, topic: str, *, more: bool = False) -> Reply:
        _ = self._t(lang).gettext
        lines = safety_lines(self.catalog, _, lang, topic, more=more)
        rows = []
        psz = self.catalog.offers.get("psychosocial-centre")
        if psz is not None:
            t = pick_text(psz.texts, lang)
            rows.append([Button(t.title if t else psz.id, "o:psychosocial-centre")])
        rows.append(self._nav_row(lang))
        return Reply("\n".join(lines), rows, lang)

    def referral_card(self, lang: str, topic: str) -> Reply:
        lines, offers = referral_lines(self.catalog, self._t(lang).gettext, lang, topic)
        rows = []
        for offer_id in offers[:3]:
            ot = pick_text(self.catalog.offers[offer_id].texts, lang)
            rows.append([Button(ot.title if ot else offer_id, f"o:{offer_id}")])
        rows.append(self._nav_row(lang))
        return Reply("\n".join(lines), rows, lang)

    def no_match(self, lang: str) -> Reply:
        _ = self._t(lang).gettext
        lines = [
            esc(_("Sorry, I found no measure or offer that fits your question well.")),
            "",
            esc(_("General counselling can help with most questions:")),
        ]
        rows = []
        for offer_id in ("social-counselling",):
            o = self.catalog.offers.get(offer_id)
            if o is None:
                continue
            t = pick_text(o.texts, lang)
            lines.append(
                "• "
                + esc(t.title if t else offer_id)
                + " ("
                + esc(_("measure {number}").format(number=isolate(o.measures[0], lang)))
                + ")"
            )
            rows.append([Button(t.title if t else offer_id, f"o:{offer_id}")])
        lines.append(
            "• "
            + esc(
                _("the migration counselling (JMD/MBE) that the concept names in measure {number}").format(
                    number=isolate("2.1", lang)
                )
            )
        )
        lines += [
            "",
            esc(
                _(
                    "Tips: use simple words, name the topic (flat, work, school, German course, health), or choose from the topics."
                )
            ),
        ]
        rows.append(self._nav_row(lang))
        return Reply("\n".join(lines), rows, lang)
