"""What several test modules feed the code and check it by: hostile and arbitrary text
(hypothesis strategies), the HTML rule every reply keeps, and the seed's measure rows."""

from __future__ import annotations

import os
import re

import pytest
from hypothesis import strategies as st

from bot import paths

SEED = paths.SEED_FILE
ALLOWED_TAGS = re.compile(r"</?(b|i)>")

ANY_TEXT = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",)),  # no lone surrogates (not valid UTF-8)
    max_size=600,
)
HOSTILE = st.sampled_from(
    [
        "<b>",
        "</i>",
        "&amp;",
        "'; DROP TABLE resident; --",
        "\u202e\u2066\u200f",
        "\x00",
        "\ufeff",
        "٤١٤",
        "ـــ",
        "ّ",
        "/start",
        "F:",
        "m:",
        "\n\n",
        "🙂",
        "ß",
        "İ",
        "ﷺ",
    ]
)
MIXED = st.lists(st.one_of(ANY_TEXT, HOSTILE), max_size=8).map("".join)


def assert_valid_html(text: str) -> None:
    """Only <b>/<i> tags, balanced; everything else escaped."""
    stripped = ALLOWED_TAGS.sub("", text)
    assert "<" not in stripped and ">" not in stripped.replace("&gt;", ""), text
    for tag in ("b", "i"):
        assert text.count(f"<{tag}>") == text.count(f"</{tag}>"), text


def require_seed() -> None:
    """The seed lives in ../shared beside the checkout. On CI it must be there."""
    if not SEED.exists():
        if os.environ.get("CI"):
            pytest.fail(f"the seed is missing: {SEED}")
        pytest.skip("the seed (../shared/seed) is not beside this checkout")


def seed_measure_rows() -> list[tuple[str, str, str]]:
    """Measure rows read straight from the seed with one regex, independent of bot.content.seed."""
    require_seed()
    rows = []
    for line in SEED.read_text(encoding="utf-8").splitlines():
        m = re.match(r"^(\d\.\d+(?: u\. a\.)?)\t([^\t]+)\t(.+)$", line)
        if m:
            rows.append((m.group(1), m.group(2).strip(), m.group(3).strip()))
    return rows
