"""Names after an introduction, for ``bot.residents.scrub`` (``[name]``).

After a strong introduction ("ich heiße", "my name is", "меня зовут" …) the next one to four words
are a name; after a weak one ("ich bin", "I'm", "jestem" …) only when the first of them is
capitalised. A name stops at a stop word ("und", "and", "и" …), at a lower-case word in a cased
script, or at the Persian verb that ends the sentence.
"""

from __future__ import annotations

import re

# Strong: what follows is a name. Weak: what follows is a name only when it is capitalised.
_INTRO_STRONG = [
    r"ich hei(?:ß|ss)e?",
    r"mein name ist",
    r"mein name lautet",
    r"man nennt mich",
    r"nennt mich",
    r"my name is",
    r"my name's",
    r"call me",
    r"they call me",
    r"меня зовут",
    r"мое имя",
    r"моё имя",
    r"мене звати",
    r"мене звуть",
    r"моє ім['’]я",
    r"اسمي",
    r"إسمي",
    r"انا اسمي",
    r"أنا اسمي",
    r"اسم من",
    r"نام من",
    r"اسمم",
    r"اسمو",
    r"benim adım",
    r"benim adim",
    r"adım",
    r"adim",
    r"benim ismim",
    r"ismim",
    r"nazywam się",
    r"nazywam sie",
    r"mam na imię",
    r"mam na imie",
    r"moje imię to",
    r"moje imie to",
    r"mă numesc",
    r"ma numesc",
    r"mă cheamă",
    r"ma cheama",
    r"numele meu este",
    r"numele meu e",
    r"tôi tên là",
    r"toi ten la",
    r"tên tôi là",
    r"ten toi la",
    r"tên của tôi là",
    r"ten cua toi la",
    r"em tên là",
    r"em ten la",
    r"mình tên là",
    r"minh ten la",
]
_INTRO_WEAK = [
    r"ich bin",
    r"hier ist",
    r"i am",
    r"i'm",
    r"я",
    r"ben",
    r"jestem",
    r"sunt",
    r"eu sunt",
    r"tôi là",
    r"toi la",
    r"em là",
]
_INTRO = re.compile(
    r"(?<!\w)(?:(?P<strong>" + "|".join(_INTRO_STRONG) + r")|(?P<weak>" + "|".join(_INTRO_WEAK) + r"))"
    r"[\s,:–—-]+",
    re.IGNORECASE,
)
_WORD = re.compile(r"[^\W\d_](?:[\w'’\-]*[^\W_])?")
_NAME_STOPS = frozenset(
    """und and or oder aber but i ich my mein meine und bin am is ist und habe have need brauche
    suche bitte please help hilfe wohne live from aus in im at bei mit with the der die das
    и а но я мне у в на з та і й але
    و او أو انا أنا عندي في من هستم است هست و را
    ve ile ama ben ben de için
    i a ale oraz w z mam jestem potrzebuję
    și si dar eu am sunt în in
    và va nhưng nhung tôi toi em cần can ở o""".split()
)
_NAME_ENDINGS = ("است", "هستم", "هست")  # Persian: "اسم من فاطمه است"


def _is_capitalised(word: str) -> bool:
    return word[:1].isupper()


def names(text: str) -> str:
    """``text`` with the words after each introduction replaced by ``[name]``."""
    out: list[str] = []
    pos = 0
    for m in _INTRO.finditer(text):
        if m.start() < pos:
            continue
        strong = m.group("strong") is not None
        cursor = m.end()
        taken_end = None
        count = 0
        while count < 4:
            w = _WORD.match(text, cursor)
            if w is None:
                break
            word = w.group(0)
            lowered = word.casefold()
            if lowered in _NAME_STOPS or word in _NAME_ENDINGS:
                break
            if word.startswith("و") and word[1:] in _NAME_STOPS:  # Arabic "and" glued on
                break
            cased = word.lower() != word.upper()  # Latin, Cyrillic: a name is capitalised
            if count == 0:
                if not strong and not (cased and _is_capitalised(word)):
                    break
            elif cased and not _is_capitalised(word):
                break
            count += 1
            taken_end = w.end()
            gap = re.match(r"[ \u00a0]+", text[taken_end:])
            if gap is None:
                break
            cursor = taken_end + gap.end()
        if taken_end is None:
            continue
        out.append(text[pos : m.end()] + "[name]")
        pos = taken_end
    out.append(text[pos:])
    return "".join(out)
