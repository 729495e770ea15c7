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
"""

from __future__ import annotations

import re
import unicodedata

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


# -- street addresses -------------------------------------------------------------------------------
_UP = r"[A-ZÄÖÜÀ-ÝĀ-ſА-ЯЁІЇЄҐ]"
_CAP_WORD = r"(?-i:" + _UP + r")[\w'’.\-]*"  # capitalised, even inside a case-insensitive pattern
_HOUSE = r"\d{1,3}(?:\s?[a-zA-Z](?!\w))?(?:\s?[-/]\s?\d{1,3}[a-zA-Z]?)?(?!\d)"
_NUMBER_LABEL = r"(?:(?:nr|no|numara|д|дом|буд|số|so|رقم|پلاک|شماره)\.?\s*:?\s*)?"
# German street words. Unambiguous ones match in any spelling, glued to the name ("Lindenallee
# 12", "lindenallee 12"); common nouns that also end names of squares (Platz, Markt, Hof …) only
# capitalised and glued to a name ("Domplatz 1", "Hasselbachplatz 3"), never "einen Platz 3" or
# "Kitaplatz"; a street word alone after an adjective or a preposition ("Breiter Weg 5a", "Am
# Krökentor 7", "Alter Markt 3").
_DE_STREET = "straße|strasse|str.|allee|gasse|chaussee|promenade|damm|steig|stieg|pfad|weg|ring"
_DE_SQUARE = "platz|markt|hof|tor|berg|graben|wall|kai|ufer|zeile|brücke|bruecke|siedlung|werder"
_STREET = "(?:" + "|".join(map(re.escape, _DE_STREET.split("|"))) + ")"
_SQUARE = "(?:" + "|".join(map(re.escape, _DE_SQUARE.split("|"))) + ")"
_NOT_STREETS = (
    r"(?!(?i:aus|um|arbeits|schul|heim|rück|rueck|lebens|bildungs|dienst|rechts|sonder|fuß|fuss|kita|"
    r"kindergarten|krippen|hort|ausbildungs|studien|park|sport|spiel|wohnheim|pflege|therapie|"
    r"praktikums|kurs|sprachkurs|sitz|stell|arbeit|bahn|fried|bauern|kirch|schlacht|innen|hinter|"
    r"vor|bahnhof|flughafen|kä|ka|verkä|verka)(?:s|es)?(?i:" + _STREET + "|" + _SQUARE + r")\b)"
)
_WORD_START = r"(?<![\w'’.\-])"  # a street name starts after a space, not inside "Otto-von-…"
_DE_PREP = r"(?:Am|An der|An den|Auf dem|Auf der|Im|In der|Zum|Zur|Hinter der|Hinter dem|Vor dem)"
_DE_ADJ = r"(?:Alte|Breite|Große|Grosse|Kleine|Neue|Obere|Untere|Lange|Hohe)[rnms]?"
_ADDRESSES = [
    # German, after an adjective or a preposition: "Breiter Weg 5a", "Am Krökentor 7"
    re.compile(
        r"\b(?:" + _DE_PREP + r"\s+(?:" + _DE_ADJ + r"\s+)?|" + _DE_ADJ + r"\s+)"
        r"(?=[A-ZÄÖÜ])[\wäöüß'’\-]*?(?i:" + _STREET + "|" + _SQUARE + r")\s+(?:Nr\.?\s*)?" + _HOUSE
    ),
    # German, glued: "Lindenallee 12", "Otto-von-Guericke-Straße 10", "Domplatz 1"
    re.compile(
        _WORD_START + _NOT_STREETS + r"[\wÄÖÜäöüß'’.\-]{2,40}?(?i:" + _STREET + r")\s*(?:Nr\.?\s*)?" + _HOUSE
    ),
    re.compile(
        _WORD_START + _NOT_STREETS + r"[A-ZÄÖÜ][\wäöüß'’\-]{1,40}?" + _SQUARE + r"\s*(?:Nr\.?\s*)?" + _HOUSE
    ),
    # English: "12 Baker Street", "5 Elm Rd."
    re.compile(
        r"\b\d{1,4}[a-zA-Z]?\s+(?:" + _CAP_WORD + r"\s+){1,3}"
        r"(?i:street|st\.|road|rd\.|avenue|ave\.|lane|drive|square)(?!\w)"
    ),
    # Polish, Romanian, Russian, Ukrainian, Vietnamese, Arabic, Persian: a street word, one to
    # four words, a number: "ul. Długa 5", "str. Mihai Eminescu nr. 10", "ул. Ленина, д. 5",
    # "вул. Шевченка 3", "đường Lê Lợi số 5", "شارع الملك 5", "خیابان آزادی 12"
    re.compile(
        r"(?<!\w)(?:ul\.|ulica|al\.|aleja|os\.|osiedle|pl\.|plac|str\.|strada|bd\.|bld\.|bulevardul|calea|"
        r"aleea|șos\.|sos\.|ул\.|улица|вул\.|вулиця|пр\.|просп\.|проспект|пер\.|переулок|пров\.|провулок|"
        r"бул\.|бульвар|đường|phố|ngõ|hẻm|شارع|خیابان|خيابان|کوچه|كوچه|بلوار)"
        r"\s*(?:[^\s\d,.;:!?]+[\s,]+){1,4}" + _NUMBER_LABEL + r"[\d\u0660-\u0669\u06f0-\u06f9]{1,4}[a-zA-Z]?",
        re.IGNORECASE,
    ),
    # Turkish: "Atatürk Caddesi No: 5", "Gül Sok. 3", "ataturk caddesi no 5"
    re.compile(
        r"(?:\b" + _CAP_WORD + r"\s+){1,3}(?i:caddesi|cad\.|cd\.|sokak|sokağı|sokagi|sok\.|sk\.|bulvarı|"
        r"bulvari|mahallesi|mah\.)(?:\s*(?i:no|numara)\s*[:.]?\s*\d{1,4}[a-zA-Z]?(?:/\d{1,4})?)?"
    ),
    re.compile(
        r"(?:\b[^\W\d_]+\s+){1,3}(?:caddesi|cad\.|cd\.|sokak|sokağı|sokagi|sok\.|sk\.|bulvarı|bulvari)"
        r"\s*(?:no|numara)\s*[:.]?\s*\d{1,4}[a-zA-Z]?",
        re.IGNORECASE,
    ),
    # Vietnamese: "số 5 đường Lê Lợi", "12 phố Hàng Bài"
    re.compile(
        r"(?:\b(?i:số|so)\s*)?\b\d{1,4}[a-zA-Z]?\s*(?i:đường|duong|phố|ngõ|hẻm)\s+(?:"
        + _CAP_WORD
        + r"\s*){1,4}"
    ),
]

# -- names after introductions ----------------------------------------------------------------------
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


def _names(text: str) -> str:
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


def scrub(text: str) -> str:
    """The question as it may be kept (see the module docstring)."""
    text = strip_controls(unicodedata.normalize("NFC", text))
    text = _EMAIL.sub("[e-mail]", text)
    text = _SPELLED_EMAIL.sub("[e-mail]", text)
    text = _HANDLE.sub("[username]", text)
    for pattern in _ADDRESSES:
        text = pattern.sub("[address]", text)
    text = _PHONE.sub("[phone]", text)
    text = _spelled_phones(text)
    text = _names(text)
    return re.sub(r"[ \u00a0]{2,}", " ", text).strip()
