"""What is left of a resident's question before it is kept as a gap, and how it is printed.

``scrub`` runs before an unanswered question is stored (``bot.residents.store.StoreRecorder``). It
keeps what editors need (the topic, in the resident's words) and replaces what identifies a
person with a placeholder:

* ``[name]``: the words after an introduction, in all ten languages: "ich heiße …", "mein Name
  ist …", "my name is …", "меня зовут …", "мене звати …", "اسمي …", "اسم من …", "benim adım …",
  "nazywam się …", "mă numesc …", "tôi tên là …" (the next one to four words), and after a weak
  introduction ("ich bin …", "I'm …", "jestem …", "tôi là …") when the next word is capitalised
  (so "Ich bin 12 Jahre alt" and "I am from Syria" stay; "Ich bin Lehrerin" goes too: a gap may
  lose a word rather than keep a name);
* ``[address]``: street addresses: "Lindenallee 12", "Breiter Weg 5a", "Otto-von-Guericke-Straße
  10", "12 Baker Street", "ul. Długa 5", "str. Mihai Eminescu 10", "ул. Ленина 5", "вул. Шевченка
  3", "Atatürk Caddesi No: 5", "số 5 đường Lê Lợi", "شارع الملك 5", "خیابان آزادی 12";
* ``[e-mail]``: e-mail addresses, also written out: "fatima at example dot org", "(at)", "[at]",
  "(dot)", "punkt";
* ``[username]``: Telegram @handles and t.me links;
* ``[phone]``: phone-like runs of six digits or more, written in digits or in number words in
  any of the ten languages ("null eins sieben eins …", "zero one seven …", "ноль один …"), or
  mixed.

It also drops control characters: C0 and C1 controls (a newline, tab or other line break becomes
a space) and the bidi embeddings, overrides and isolates, which could reorder or hide what an
editor reads in a terminal. ``printable`` escapes whatever such character a stored text still
holds (rows written before this rule) when ``ankommen gaps`` prints it.

The rules are heuristics: a name typed without an introduction ("Fatima needs a flat") stays.
The address patterns are in ``scrub_addresses.py``, the introductions in ``scrub_names.py``; the
e-mail, handle and phone rules, and the order they run in, are here.
"""

from __future__ import annotations

import re
import unicodedata

from bot.residents.scrub_addresses import ADDRESSES
from bot.residents.scrub_names import names

# -- control characters -----------------------------------------------------------------------------
_LINE_BREAKS = "\n\r\t\v\f\x85\u2028\u2029"
_BIDI = (
    "\u061c\u200e\u200f" + "".join(map(chr, range(0x202A, 0x202F))) + "".join(map(chr, range(0x2066, 0x206A)))
)
_CONTROL = re.compile("[" + re.escape(_LINE_BREAKS) + "]|[\x00-\x1f\x7f-\x9f" + re.escape(_BIDI) + "]")


def strip_controls(text: str) -> str:
    """Line breaks and tabs become spaces; every other C0/C1 control and bidi control goes."""
    return _CONTROL.sub(lambda m: " " if m.group(0) in _LINE_BREAKS else "", text)


def printable(text: str) -> str:
    """``text`` with every control and bidi character shown as an escape (``\\x1b``, ``\\u202e``),
    so that printing it cannot move the cursor, recolour a terminal or reorder the line."""

    def escape(m: re.Match) -> str:
        code = ord(m.group(0))
        return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"

    return _CONTROL.sub(escape, text)


# What json.dumps(ensure_ascii=False) leaves raw inside strings (it escapes C0 itself; outside
# strings there is only its own indentation).
_RAW_IN_JSON = re.compile("[\x7f-\x9f\u2028\u2029" + re.escape(_BIDI) + "]")


def printable_json(serialized: str) -> str:
    """JSON text (``ensure_ascii=False``) with DEL, C1 and bidi characters written as ``\\uXXXX``:
    the same JSON value, but safe to print on a terminal."""
    return _RAW_IN_JSON.sub(lambda m: f"\\u{ord(m.group(0)):04x}", serialized)


# -- e-mail addresses, @handles ---------------------------------------------------------------------
_EMAIL = re.compile(r"(?<![\w.+-])[\w.+-]{1,64}@[\w-]{1,63}(?:\.[\w-]{1,63})+")
_AT = r"(?:\s*@\s*|\s*[\(\[\{<]\s*(?:at|@|ät|et)\s*[\)\]\}>]\s*|\s+(?:at|ät|bei|собака|małpa|malpa)\s+)"
_DOT = r"(?:\s*\.\s*|\s*[\(\[\{<]\s*(?:dot|punkt|\.)\s*[\)\]\}>]\s*|\s+(?:dot|punkt|точка|kropka|nokta|punct|chấm|cham)\s+)"
_SPELLED_EMAIL = re.compile(
    r"(?<![\w.+-])[\w.+-]{1,64}"
    + _AT
    + r"[\w-]{1,63}(?:"
    + _DOT
    + r"[\w-]{1,63}){0,3}"
    + _DOT
    + r"[a-zA-Z]{2,6}\b",
    re.IGNORECASE,
)
_HANDLE = re.compile(
    r"(?:https?://)?(?:t\.me|telegram\.me)/[A-Za-z0-9_]{3,32}|(?<![\w@])@[A-Za-z][A-Za-z0-9_]{3,31}\b"
)

# -- phone numbers ----------------------------------------------------------------------------------
# A run with at least six digits, allowing the separators people type in phone numbers.
_PHONE = re.compile(r"\+?\d(?:[\s()/.\-]*\d){5,}")
_DIGIT_WORDS = {
    "de": "null eins zwei zwo drei vier fünf fuenf funf sechs sieben acht neun",
    "en": "zero oh one two three four five six seven eight nine",
    "ar": "صفر واحد اثنين اثنان ثنين ثلاثة ثلاثه تلاتة تلاته أربعة اربعة اربعه خمسة خمسه ستة سته سبعة سبعه ثمانية ثمانيه تمانية تسعة تسعه",
    "fa": "صفر یک يک دو سه چهار پنج شش هفت هشت نه",
    "uk": "нуль один одна два дві три чотири п'ять п’ять пять шість сім вісім дев'ять дев’ять девять",
    "ru": "ноль нуль один одна два две три четыре пять шесть семь восемь девять",
    "tr": "sıfır sifir bir iki üç uc dört dort beş bes altı alti yedi sekiz dokuz",
    "pl": "zero jeden jedna dwa dwie trzy cztery pięć piec sześć szesc siedem osiem dziewięć dziewiec",
    "ro": "zero unu una doi două doua trei patru cinci șase sase şase șapte sapte şapte opt nouă noua",
    "vi": "không khong một mot hai ba bốn bon năm nam sáu sau bảy bay tám tam chín chin",
}
_NUMBER_WORDS = frozenset(w for words in _DIGIT_WORDS.values() for w in words.split())
_REPEAT_WORDS = {"double": 2, "doppel": 2, "triple": 3}
_TOKEN = re.compile(r"\d+|[^\W\d_]+(?:['’][^\W\d_]+)?")
_GAP_BETWEEN_NUMBERS = re.compile(r"[\s,;:/()+.\-]*")


def _number_value(word: str) -> int:
    """How many digits a token stands for (0: not a number token)."""
    if word.isdigit():
        return len(word)
    w = word.casefold()
    if w in _NUMBER_WORDS:
        return 1
    if w.startswith("و") and w[1:] in _NUMBER_WORDS:  # Arabic "and" glued to the number
        return 1
    return 0


def _spelled_phones(text: str) -> str:
    """Replace runs of number words (and digits) that make six digits or more with [phone]."""
    spans: list[tuple[int, int]] = []
    run_start = run_end = None
    digits = 0
    pending_repeat = 0
    last_end = 0
    for m in _TOKEN.finditer(text):
        word = m.group(0)
        value = _number_value(word)
        repeat = _REPEAT_WORDS.get(word.casefold(), 0)
        joined = run_start is not None and _GAP_BETWEEN_NUMBERS.fullmatch(text[last_end : m.start()])
        if value or repeat:
            if not joined:
                if run_start is not None and digits >= 6:
                    spans.append((run_start, run_end))
                run_start, digits, pending_repeat = m.start(), 0, 0
            if repeat:
                pending_repeat = repeat
            else:
                digits += value * (pending_repeat or 1)
                pending_repeat = 0
                run_end = m.end()
            last_end = m.end()
            continue
        if run_start is not None and digits >= 6:
            spans.append((run_start, run_end))
        run_start, digits, pending_repeat = None, 0, 0
    if run_start is not None and digits >= 6:
        spans.append((run_start, run_end))
    for start, end in reversed(spans):
        text = text[:start] + "[phone]" + text[end:]
    return text


def scrub(text: str) -> str:
    """The question as it may be kept (see the module docstring)."""
    text = strip_controls(unicodedata.normalize("NFC", text))
    text = _EMAIL.sub("[e-mail]", text)
    text = _SPELLED_EMAIL.sub("[e-mail]", text)
    text = _HANDLE.sub("[username]", text)
    for pattern in ADDRESSES:
        text = pattern.sub("[address]", text)
    text = _PHONE.sub("[phone]", text)
    text = _spelled_phones(text)
    text = names(text)
    return re.sub(r"[ \u00a0]{2,}", " ", text).strip()
