"""Newsletter definitions (measures 1.24 and 1.32): the one reader of ``data/newsletters.yaml``.

Each entry has a measure number as id, its offer, and a title and description per language.
They are read from ``data/`` at start, not imported into the store: they change with a release,
like the code. ``bot/content/load.py`` reads the raw entries through ``read_entries`` to check
them (``ankommen data check``); the bot uses ``load_definitions``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

FILE_NAME = "newsletters.yaml"
# libyaml's safe loader when PyYAML has it, else the pure-Python one (as bot/content/load.py)
_SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@dataclass(frozen=True)
class Newsletter:
    id: str  # the measure number
    offer: str
    texts: dict[str, tuple[str, str]]  # lang -> (title, description)

    def text(self, lang: str) -> tuple[str, str]:
        return self.texts.get(lang) or self.texts.get("en") or self.texts.get("de") or (self.id, "")

    def title(self, lang: str) -> str:
        return self.text(lang)[0]


def path_in(data_dir: Path) -> Path:
    return data_dir / FILE_NAME


def read_entries(path: Path) -> list[dict[str, Any]]:
    """The raw entries of a newsletters file, unchecked, in file order.

    Raises ``OSError`` (``FileNotFoundError``) and ``yaml.YAMLError``: ``data check`` reports them
    as problems, ``load_definitions`` treats a missing file as no newsletters."""
    doc = yaml.load(path.read_text(encoding="utf-8"), Loader=_SAFE_LOADER) or {}
    return doc.get("newsletters") or []


def definitions(entries: list[dict[str, Any]]) -> dict[str, Newsletter]:
    """Newsletters from entries that passed ``data check``, keyed by id, in file order."""
    out: dict[str, Newsletter] = {}
    for n in entries:
        texts = {lang: (str(t["title"]), str(t["description"])) for lang, t in (n.get("texts") or {}).items()}
        out[str(n["id"])] = Newsletter(str(n["id"]), str(n.get("offer") or ""), texts)
    return out


def load_definitions(data_dir: Path) -> dict[str, Newsletter]:
    """The newsletters of ``data_dir/newsletters.yaml`` in file order (validated by ``data check``)."""
    path = path_in(data_dir)
    if not path.exists():
        return {}
    return definitions(read_entries(path))
