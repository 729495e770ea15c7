"""The languages Ankommen serves, and their CLDR facts (names, text direction).

Adding a language: add its code here, a catalog under ``locales/<code>/`` and content files under
``data/i18n/<code>/``. See the README, "Languages".
"""

from __future__ import annotations

import re
from functools import cache

from babel import Locale

SUPPORTED_LANGUAGES: tuple[str, ...] = ("de", "en", "ar", "fa", "uk", "ru", "tr", "pl", "ro", "vi")
FALLBACK_CHAIN: tuple[str, ...] = ("en", "de")

FSI, PDI = "\u2068", "\u2069"  # first strong isolate, pop directional isolate


@cache
def locale(code: str) -> Locale:
    return Locale.parse(code, sep="-")


def native_name(code: str) -> str:
    """The language's own name in its own script, from CLDR (e.g. 'العربية' for ar)."""
    name = locale(code).get_display_name(code) or code
    return name[:1].upper() + name[1:]


def is_rtl(code: str) -> bool:
    return locale(code).text_direction == "rtl"


def isolate(text: str, lang: str) -> str:
    """Wrap a number, measure number, URL or Latin name in Unicode isolates inside RTL text."""
    return f"{FSI}{text}{PDI}" if is_rtl(lang) else text


_LATIN = "A-Za-z0-9\u00c0-\u024f\u1e00-\u1eff"
_RUNS = re.compile(
    f"{FSI}[^{PDI}]*{PDI}"  # already isolated: keep
    f"|[/@#]?[{_LATIN}](?:[{_LATIN} .,:;/@_&+%*'\u2019\u2013-]*[{_LATIN}])?"
)


def isolate_latin_runs(text: str) -> str:
    """Wrap every run of Latin script or digits (names, numbers, URLs) in FSI … PDI.

    Used on right-to-left text only; parentheses stay outside the isolate so that they mirror.
    """

    def wrap(m: re.Match[str]) -> str:
        run = m.group(0)
        return run if run.startswith(FSI) else f"{FSI}{run}{PDI}"

    return _RUNS.sub(wrap, text)


def normalise_code(code: str | None) -> str | None:
    """Map a Telegram/BCP-47 language code ('pt-br', 'uk', 'prs') to a supported one, or None."""
    if not code:
        return None
    base = code.replace("_", "-").split("-")[0].lower()
    base = {"prs": "fa", "per": "fa", "fas": "fa", "ara": "ar", "ukr": "uk", "rus": "ru"}.get(base, base)
    return base if base in SUPPORTED_LANGUAGES else None
