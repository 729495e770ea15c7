"""Interface strings through gettext catalogs (``locales/<lang>/LC_MESSAGES/messages.po``).

Catalogs are compiled in memory from the ``.po`` files when ``Translations`` is built (at start),
so a fresh clone works without a compile step; ``ankommen texts compile`` writes ``.mo`` files
for tools that want them. The locale is chosen per call, never installed globally.
"""

from __future__ import annotations

import gettext
import io
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

from bot import paths


class Translations:
    """One gettext catalog per language; English message ids are the fallback."""

    def __init__(self, locales_dir: Path = paths.LOCALES_DIR):
        self.catalogs: dict[str, gettext.GNUTranslations] = {}
        for po in sorted(locales_dir.glob("*/LC_MESSAGES/messages.po")):
            lang = po.parent.parent.name
            with po.open("rb") as fh:
                catalog = read_po(fh, locale=lang)
            buf = io.BytesIO()
            write_mo(buf, catalog, use_fuzzy=False)
            buf.seek(0)
            self.catalogs[lang] = gettext.GNUTranslations(buf)
        self._null = gettext.NullTranslations()

    def get(self, lang: str) -> gettext.NullTranslations:
        return self.catalogs.get(lang, self._null)

    @property
    def languages(self) -> list[str]:
        return sorted(self.catalogs)
