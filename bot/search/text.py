"""Text normalisation, tokens, stop words and query language detection, for all ten languages.

One ``normalise`` serves the index and the query, so both sides fold alike:

* Unicode NFKC, case folding, zero-width and bidi marks removed;
* Eastern Arabic and Persian digits to ASCII digits;
* Arabic/Persian letter variants unified (alef forms, yeh/kaf forms, teh marbuta, tatweel,
  harakat);
* German: ä/ae, ö/oe, ü/ue and ß/ss fold to the same form; other Latin diacritics are dropped
  (``ş`` → ``s``, ``ă`` → ``a``, Vietnamese tones), so a query typed without them still matches;
* Cyrillic: ё → е, й → и, ї → і (language detection reads the raw text, not this form);
* punctuation becomes a space.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from functools import lru_cache

from bot.search.chat_words import CHAT_FILLER

_ZERO_WIDTH = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u200e\u200f\u2060\ufeff\u00ad\u061c"), None)
_BIDI_CONTROLS = dict.fromkeys(range(0x202A, 0x202F), None) | dict.fromkeys(range(0x2066, 0x206A), None)
_DIGITS = {ord(c): str(i) for i, c in enumerate("٠١٢٣٤٥٦٧٨٩")} | {
    ord(c): str(i) for i, c in enumerate("۰۱۲۳۴۵۶۷۸۹")
}
_ARABIC = str.maketrans(
    {
        "أ": "ا",
        "إ": "ا",
        "آ": "ا",
        "ٱ": "ا",
        "ى": "ي",
        "ی": "ي",
        "ې": "ي",
        "ئ": "ي",
        "ک": "ك",
        "ة": "ه",
        "ۀ": "ه",
        "ؤ": "و",
        "ـ": None,
        "ء": None,
    }
)
_GERMAN = str.maketrans({"ä": "a", "ö": "o", "ü": "u", "ß": "ss"})
_UMLAUT_DIGRAPHS = re.compile(r"(ae|oe|ue)")
_LONE_MARKS = re.compile(r"[\u0300-\u036F\u064B-\u065F\u0670\u06D6-\u06ED]")
_SPLIT = re.compile(r"[^\w]+", re.UNICODE)
# A light Arabic stemmer: the article and the prepositions glued to it (وال، بال، كال، فال، لل)
# fall away when at least three letters remain ("بالشقة" and "الشقة" -> "شقه").
_AR_ARTICLE = re.compile(r"^(?:[وفبك]?ال|لل)(?=[\u0621-\u064A]{3})")

_ARABIC_RE = re.compile(r"[\u0600-\u06FF\u0750-\u077F\uFB50-\uFDFF\uFE70-\uFEFF]")
_PERSIAN_ONLY = set("پچژگکی")
_CYRILLIC_RE = re.compile(r"[\u0400-\u04FF]")
_UKRAINIAN_ONLY = set("іїєґ")
_RUSSIAN_ONLY = set("ыэъё")


def _strip_marks(text: str) -> str:
    """Drop every combining mark: Latin diacritics, tones, Cyrillic breves, Arabic harakat."""
    out = []
    for ch in unicodedata.normalize("NFD", text):
        if unicodedata.category(ch) == "Mn":
            continue
        out.append(ch)
    return unicodedata.normalize("NFC", "".join(out))


@lru_cache(maxsize=65536)
def normalise_token(token: str) -> str:
    """Fold one lowercase token (already free of punctuation).

    The folds touch disjoint sets of letters, so one pass serves every script (and tokens that
    mix scripts): Arabic/Persian variants, then German umlauts, then every other combining mark
    (Latin diacritics, Vietnamese tones, Cyrillic й/ё/ї), then the ae/oe/ue digraphs.
    """
    token = token.translate(_ARABIC)  # before NFD, which would split أ/ؤ/ئ into letter + hamza
    token = token.translate(_GERMAN).replace("ı", "i").replace("đ", "d").replace("ł", "l")
    token = _strip_marks(token)
    token = _AR_ARTICLE.sub("", token)
    return _UMLAUT_DIGRAPHS.sub(lambda m: m.group(1)[0], token)


def normalise(text: str) -> str:
    """The folded form of a text: lowercase, no marks, one space between tokens."""
    return " ".join(tokens(text))


def tokens(text: str) -> list[str]:
    """Folded tokens of ``text`` (punctuation and marks removed)."""
    text = unicodedata.normalize("NFKC", text)
    text = text.translate(_ZERO_WIDTH).translate(_BIDI_CONTROLS).translate(_DIGITS).casefold()
    # Lone combining marks (Arabic harakat, stray accents) would split words; drop them first.
    text = _LONE_MARKS.sub("", text)
    folded = (normalise_token(t) for t in _SPLIT.split(text) if t and t != "_")
    return [t for t in folded if t]


# Cyrillic -> Latin, the way Russian and Ukrainian speakers type on a Latin keyboard ("kvartira",
# "dopomoha", "zhinok"). Applied to folded tokens (й/ё/ї are already и/е/і).
_TRANSLIT_COMMON = {
    "а": "a", "б": "b", "в": "v", "д": "d", "е": "e", "ж": "zh", "з": "z", "к": "k", "л": "l",
    "м": "m", "н": "n", "о": "o", "п": "p", "р": "r", "с": "s", "т": "t", "у": "u", "ф": "f",
    "х": "kh", "ц": "ts", "ч": "ch", "ш": "sh", "щ": "shch", "ъ": "", "ь": "", "ю": "yu",
    "я": "ya", "ы": "y", "э": "e", "є": "ye", "ґ": "g",
}  # fmt: skip
_TRANSLIT = {
    "ru": str.maketrans(_TRANSLIT_COMMON | {"г": "g", "и": "i", "і": "i"}),
    "uk": str.maketrans(_TRANSLIT_COMMON | {"г": "h", "и": "y", "і": "i"}),
}


def transliterate(token: str, lang: str) -> str | None:
    """The Latin spelling of a folded Russian or Ukrainian token, or None (other script/language)."""
    table = _TRANSLIT.get(lang)
    if table is None or not _CYRILLIC_RE.search(token):
        return None
    latin = token.translate(table)
    return latin if latin.isascii() and len(latin) >= 4 else None


# Stop words: question words, pronouns, auxiliaries and filler, per language, folded. They carry
# no topic, so they are dropped from queries (and from the index).
_STOP_RAW = {
    "de": """aber alle als also am an auch auf aus bei bin bis bitte bist da damit dann das dass dem
        den der des dich die dir doch du durch ein eine einem einen einer eines er es etwas euch
        für gibt gut hab habe haben hallo hat hatte hier ich ihm ihn ihr im in ist ja jemand kann
        kannst kein keine können man mein meine meinem meinen meiner mich mir mit möchte muss
        nach nicht noch nur ob oder sehr sein seine sich sie sind so soll über um und uns unser
        von vor war was weiß welche wenn wer werden wie wir wird wo woher wohin zu zum zur
        bekomme bekommen brauche brauchen finde finden hilfe helfen suche suchen frage
        danke guten tag morgen abend heute jetzt immer schon mal gerne will wollen seit beim
        vom ins mich dich sich wann warum wieso weshalb welcher welches wem wen meinem deine dein
        ihre ihren sein seinem unsere euer diese dieser dieses jetzt dort hier hatte hätte würde
        wurde worden könnte sollte müssen darf dürfen sagen erklären gehen machen tun viel viele
        wirklich einfach leider ganz gar nichts nix hilft helft hilf weiter
        gerade eigentlich vielleicht trotzdem nochmal deshalb darum""",
    "en": """a about after all also am an and any are as at be because been but by can could do
        does for from get got had has have he hello her hi him his how i if in into is it its
        just me my need no not of on or our please she so some that the their them there they
        this to us was we what when where which who why will with would you your
        help find looking get want know tell thanks thank since than then there here were did
        doing done am im i'm dont don't cant can't should shall may might must let also very
        really still already yet too much many more most other some any every each going go make
        made say said please hey hii pls plz
        want wanna gonna i'd i've i'll ive youre you're thing things someone somebody anyone anybody something anything""",
    "ar": """في من على الى إلى عن مع هل ما ماذا اين أين كيف متى انا أنا انت نحن هو هي هذا هذه
        ذلك التي الذي او أو و يا لي لك عندي اريد أريد ممكن مساعده مساعدة شكرا مرحبا
        بدي بدنا ابغى ابي عايز عاوز شو ايش وين لحتى حتى ليش لماذا انو انه اللي الذي عم رح راح سوف كان كانت عند عنا عندنا لازم يجب شي شيء هاد هذا هيك كتير كثير جدا مو مش ما في""",
    "fa": """در از به با برای که این آن من تو ما او را و یا هم است هست هستم هستیم نیست کجا چطور
        چگونه چه چی کی می خواهم میخواهم میخوام لطفا سلام ممنون کمک دنبال باید
        میخوام میخواهیم چیکار چکار شده هستش یک یه اون اینجا اونجا کنم کنید میشه میشود داره دارم دارد داریم خیلی الان حالا چرا چون اگر ولی""",
    "uk": """в у на з із до від для що як де коли я ти ми ви він вона воно вони мені мене мій моя
        моє мої це той та і й а але чи не так є будь ласка привіт дякую допомога допомогти треба
        хочу хочемо потрібна потрібен потрібно нам нас як хто які який яка яке можна був була було буде дуже тут там вже ще теж також мій моя моє наш наша цей ця де куди чому""",
    "ru": """в во на с со к ко от для что как где когда я ты мы вы он она оно они мне меня мой моя
        мое мои это тот та и а но или не так есть пожалуйста привет спасибо помощь помочь нужно
        надо
        хочу хотим нужна нужен нужно нам нас кто какой какая какое какие можно был была было будет очень здесь там уже ещё еще тоже также наш наша этот эта куда почему""",
    "tr": """ve ile bir bu şu o ben sen biz siz onlar ne nasıl nerede neden için mi mı mu mü var
        yok da de ki ama çok lütfen merhaba teşekkürler yardım benim bana
        istiyorum istiyoruz lazım gerek nereye nereden kim hangi burada şimdi daha için gibi olarak olan oldu olur mısınız miyim nasil neden niye şey""",
    "pl": """i w we na z ze do od dla że jak gdzie kiedy ja ty my wy on ona ono oni mi mnie mój moja
        moje to ten ta a ale czy nie tak jest proszę cześć dziękuję pomoc potrzebuję
        chcę chce chcemy potrzebuję potrzebujemy jestem mam mamy można kto co jaki jaka jakie tu tam już jeszcze też bardzo był była było będzie się mój moja nasz nasza gdzie dlaczego""",
    "ro": """și si în in pe la cu de din pentru că ca cum unde când cand eu tu noi voi el ea ei
        mi mă ma meu mea este e nu da vă va rog bună buna mulțumesc ajutor am un o
        se să sa ce pot poate putem sunt face fac vreau vrem mai ne aici cine care după dupa tot toate toți toti au al ale lui le îmi imi îi ii iar acum foarte""",
    "vi": """tôi toi bạn ban của cua và va là la có co không khong ở o đâu dau gì gi như nhu thế
        the nào nao cho với voi được duoc giúp giup xin chào chao cảm cam ơn on cần can
        em anh chị chi mình minh thì thi mà ma này nay kia rồi roi làm lam sao muốn muon phải phai""",
}
# Chat filler (``bot/search/chat_words.py``: common verbs, adverbs, particles and dialect forms, as people
# type them) counts as a stop word too, except where a word is also a topic word of the content.
_NOT_FILLER = {"de": "glaube", "en": "arriving", "ar": "سلام", "tr": "herkes ise", "vi": "chua chùa chưa"}
STOPWORDS: dict[str, frozenset[str]] = {
    lang: frozenset(normalise_token(w) for w in (words + " " + CHAT_FILLER.get(lang, "")).split())
    - frozenset(normalise_token(w) for w in _NOT_FILLER.get(lang, "").split())
    for lang, words in _STOP_RAW.items()
}
ALL_STOPWORDS: frozenset[str] = frozenset().union(*STOPWORDS.values())

# Letters (after NFKC + casefold, before folding) that mark one Latin-script language.
_LATIN_LETTERS = {
    "de": set("äöüß"),
    "tr": set("şğı"),
    "pl": set("ąęłńśźż"),
    "ro": set("ășțâî"),
    "vi": set("ăâđêôơưạảấầẩẫậắằẳẵặẹẻẽếềểễệỉịọỏốồổỗộớờởỡợụủứừửữựỳỵỷỹ"),
}
_RAW_STOP = {lang: set(words.split()) for lang, words in _STOP_RAW.items()}


@lru_cache(maxsize=4096)
def detect_language(text: str, hint: str | None = None) -> str | None:
    """Guess the language of a query from its script, special letters and stop words.

    ``hint`` (the user's chosen language) wins ties and decides when nothing else does.
    Returns None only when there is nothing to go on and no hint. Cached: the dialogue and the
    search ask about the same question.
    """
    sample = unicodedata.normalize("NFKC", text).casefold()
    counts = Counter(c for c in sample if c.isalpha())
    if not counts:
        return hint
    arabic = sum(n for c, n in counts.items() if _ARABIC_RE.match(c))
    cyrillic = sum(n for c, n in counts.items() if _CYRILLIC_RE.match(c))
    latin = sum(counts.values()) - arabic - cyrillic
    if arabic >= max(cyrillic, latin) and arabic:
        words = re.split(r"[^\w]+", sample)
        fa = 2 * sum(counts[c] for c in _PERSIAN_ONLY)
        fa += sum(1 for w in words if w in _RAW_STOP["fa"] and w not in _RAW_STOP["ar"])
        ar = sum(counts[c] for c in "ةىأإ")
        ar += sum(
            1 for w in words if (w in _RAW_STOP["ar"] and w not in _RAW_STOP["fa"]) or w.startswith("ال")
        )
        if fa != ar:
            return "fa" if fa > ar else "ar"
        return hint if hint in ("ar", "fa") else "ar"
    if cyrillic >= latin and cyrillic:
        chars = set(counts)
        if chars & _UKRAINIAN_ONLY and not chars & _RUSSIAN_ONLY:
            return "uk"
        if chars & _RUSSIAN_ONLY and not chars & _UKRAINIAN_ONLY:
            return "ru"
        return hint if hint in ("uk", "ru") else "ru"
    words = [w for w in re.split(r"[^\w]+", sample) if w]
    scores: dict[str, float] = {}
    for lang in ("de", "en", "tr", "pl", "ro", "vi"):
        score = sum(1.0 for w in words if w in _RAW_STOP[lang])
        score += 1.5 * sum(counts[c] for c in _LATIN_LETTERS.get(lang, ()))
        if lang == hint:
            score += 0.5
        scores[lang] = score
    best = max(scores, key=scores.get)
    if scores[best] <= 0.5:
        # Latin letters, nothing recognisable: transliterated ar/fa/ru/uk, or an unknown word.
        return hint
    return best
