"""What a question gets, decided once for the dialogue, the console and ``ankommen ask``.

Three layers, in order (``../shared/ARCHITECTURE.md``, "Flows"):

1. **Safety:** a message about a crisis gets the safety card first, whatever else it asks.
2. **Search** over measures, offers and the referral topics (questions the concept has no
   measure for); a hit must explain the question's central words.
3. **Honest no-match** below the confidence threshold.

``Answer.as_json`` is the shape of ``ankommen ask --json``: the safety answer first
(``{"kind": "safety", "id": <topic>, "measure": null, …}``), then the hits; a referral is
``{"kind": "referral", "id": <topic>, "measure": <the counselling it points to, or null>, …}``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from bot.content.catalog import Catalog, pick_text
from bot.residents.safety import SafetyMatch
from bot.search.index import MAX_QUERY_CHARS, Hit
from bot.search.text import detect_language


@dataclass
class Answer:
    lang: str
    safety: SafetyMatch | None
    hits: list[Hit] = field(default_factory=list)

    @property
    def is_gap(self) -> bool:
        """No confident answer and no crisis: an editor should see the question (scrubbed)."""
        return self.safety is None and not self.hits

    @property
    def referral(self) -> str | None:
        """The referral topic when the best answer is a referral (counted for editors)."""
        return (
            self.hits[0].id if self.safety is None and self.hits and self.hits[0].kind == "referral" else None
        )


def answer(catalog: Catalog, text: str, lang: str, *, limit: int = 10) -> Answer:
    safety = catalog.safety.detect(text[: MAX_QUERY_CHARS * 2])
    hits = catalog.index.search(text, limit=limit, lang=lang)
    return Answer(lang, safety, hits)


def query_language(text: str, lang: str | None, default: str) -> str:
    """The language to answer in: the user's choice, else the question's, else the default."""
    return lang or detect_language(text, hint=None) or default


def as_json(catalog: Catalog, ans: Answer, *, limit: int) -> list[dict]:
    results: list[dict] = []
    if ans.safety is not None:
        card = catalog.safety.card.get("heading", {})
        results.append(
            {
                "kind": "safety",
                "id": ans.safety.topic,
                "measure": None,
                "title": card.get(ans.lang) or card.get("en") or card.get("de") or ans.safety.topic,
                "score": ans.safety.score,
            }
        )
    for h in ans.hits[: max(limit - len(results), 0)]:
        if h.kind == "referral":
            topic = catalog.referrals.topics[h.id]
            t = pick_text(topic.texts, ans.lang)
            results.append(
                {
                    "kind": "referral",
                    "id": h.id,
                    "measure": topic.measure,
                    "title": t.title if t else h.id,
                    "score": h.score,
                }
            )
            continue
        entity = catalog.offers[h.id] if h.kind == "offer" else catalog.measures[h.id]
        t = pick_text(entity.texts, ans.lang)
        results.append(
            {
                "kind": h.kind,
                "id": h.id,
                "measure": h.measure,
                "title": t.title if t else h.id,
                "score": h.score,
            }
        )
    return results
