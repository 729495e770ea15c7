"""The languages Ankommen serves, and their CLDR facts (names, text direction).

Adding a language: add its code here, a catalog under ``locales/<code>/`` and content files under
``data/i18n/<code>/``. See the README, "Languages".
"""

from __future__ import annotations

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


def normalise_code(code: str | None) -> str | None:
    """Map a Telegram/BCP-47 language code ('pt-br', 'uk', 'prs') to a supported one, or None."""
    if not code:
        return None
    base = code.replace("_", "-").split("-")[0].lower()
    base = {"prs": "fa", "per": "fa", "fas": "fa", "ara": "ar", "ukr": "uk", "rus": "ru"}.get(base, base)
    return base if base in SUPPORTED_LANGUAGES else None
