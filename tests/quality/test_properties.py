"""Property-based checks: no input, however odd, breaks normalisation, search or the dialogue."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.chat.buttons import MAX_BYTES as CALLBACK_MAX_BYTES
from bot.residents.dialogue import Dialogue
from bot.residents.ports import MemoryPreferences
from bot.search.text import detect_language, normalise, tokens
from tests.support.inputs import HOSTILE, MIXED, assert_valid_html


@given(MIXED)
def test_normalise_is_total_and_idempotent(text):
    once = normalise(text)
    assert normalise(once) == once
    assert all(" " not in t for t in tokens(text))
    detect_language(text, "de")


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture], max_examples=150, deadline=None)
@given(text=MIXED)
def test_search_never_raises_and_stays_bounded(catalog, text):
    hits = catalog.index.search(text, limit=3)
    assert len(hits) <= 3
    assert all(h.score >= catalog.index.threshold for h in hits)


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture], max_examples=150, deadline=None)
@given(text=MIXED, data=st.one_of(st.text(max_size=80), HOSTILE))
def test_dialogue_answers_anything_validly(catalog, translations, text, data):
    d = Dialogue(catalog, translations, MemoryPreferences(), default_language="de")
    d.handle_button(7, "L:en")
    for reply in d.handle_text(7, text) + d.handle_button(7, data):
        assert reply.html and len(reply.html) < 4096
        assert_valid_html(reply.html)
        for row in reply.buttons:
            for b in row:
                assert len(b.data.encode()) <= CALLBACK_MAX_BYTES
    assert d.language_of(7) in d.languages
