from __future__ import annotations

import pytest

from bot.languages import FSI, PDI, is_rtl, isolate, native_name
from bot.search.text import detect_language, normalise


@pytest.mark.parametrize(
    "a, b",
    [
        ("Kündigung", "Kuendigung"),
        ("Kündigung", "kundigung"),
        ("Straße", "strasse"),
        ("ÖFFNUNGSZEITEN", "oeffnungszeiten"),
        ("Ausländerbehörde", "auslaenderbehoerde"),
        ("Ausländerbehörde", "auslanderbehorde"),
        ("café", "cafe"),
        ("Mietvertrag!!!", "mietvertrag"),
        ("مُساعَدة", "مساعدة"),  # harakat
        ("أريد", "اريد"),  # alef with hamza
        ("إسكان", "اسكان"),
        ("مدرسة", "مدرسه"),  # teh marbuta
        ("کمک", "كمك"),  # Persian kaf
        ("خانه‌ام", "خانهام"),  # zero-width non-joiner
        ("یک", "يك"),  # Persian yeh
        ("٤١٤", "414"),  # Eastern Arabic digits
        ("۴۱۴", "414"),  # Persian digits
        ("Ёлка", "елка"),
        ("şehir", "sehir"),
        ("Được", "duoc"),
        ("łódź", "lodz"),
        ("\u200bWohnung\u200f", "wohnung"),
    ],
)
def test_normalise_folds_variants_together(a, b):
    assert normalise(a) == normalise(b)


@pytest.mark.parametrize(
    "text, hint, expected",
    [
        ("Mein Vermieter hat mir gekündigt", None, "de"),
        ("my landlord wants to throw us out", None, "en"),
        ("أريد مساعدة في السكن", None, "ar"),
        ("من دنبال خانه هستم", None, "fa"),
        ("Мені потрібна допомога з житлом", None, "uk"),
        ("Мне нужна помощь с квартирой", None, "ru"),
        ("Ev sahibim beni evden çıkarmak istiyor", None, "tr"),
        ("Potrzebuję pomocy z mieszkaniem", None, "pl"),
        ("Am nevoie de ajutor cu locuința", None, "ro"),
        ("Tôi cần giúp đỡ về nhà ở", None, "vi"),
        ("Wohnung", "ar", "ar"),  # nothing to go on: the chosen language wins
        ("12345", "uk", "uk"),
    ],
)
def test_detect_language(text, hint, expected):
    assert detect_language(text, hint) == expected


def test_rtl_and_isolates():
    assert is_rtl("ar") and is_rtl("fa") and not is_rtl("de")
    assert isolate("4.14", "ar") == f"{FSI}4.14{PDI}"
    assert isolate("4.14", "de") == "4.14"


def test_native_names_come_from_cldr():
    assert native_name("ar") == "العربية"
    assert native_name("uk") == "Українська"
    assert native_name("de") == "Deutsch"
