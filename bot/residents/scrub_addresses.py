"""Street addresses in the ten languages, for ``bot.residents.scrub`` (``[address]``).

``ADDRESSES`` is applied in order, each pattern replacing what it finds. The German patterns are
the subtle ones: a street word glued to a name is an address, a common noun that also ends names
of squares only when capitalised and glued to a name (see the comment on ``_DE_STREET``).
"""

from __future__ import annotations

import re

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
ADDRESSES = [
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
