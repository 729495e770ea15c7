"""Honest referrals: the questions new residents ask most that the concept has no measure for.

``data/referrals.yaml`` holds the referral topics (residence permits, the asylum procedure,
family reunification, Kindergeld, the Jobcenter, the Anmeldung, health insurance …). Each topic
card says plainly that the concept has no measure for it, names who can help from the concept
itself (the migration counselling JMD/MBE of measure 2.1, the social counselling of 7.2), and, where
a public authority is responsible, names the authority: by name only, with the public source that
says so and the date it was checked. No procedure, deadline or promise.

``data/glossary.yaml`` names the offices people mention (Ausländerbehörde, Jobcenter, Bürgerbüro,
Familienkasse, Migrationsberatung …) in every language, with the spellings people type. Search
reads the aliases: an office that leads to a referral topic makes that topic findable.

Both files are read at start, next to the store's content; they are not status-bearing, so they
are not imported into the store.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import yaml

from bot.residents.safety import as_date

REFERRALS_FILE = "referrals.yaml"
GLOSSARY_FILE = "glossary.yaml"


@dataclass(frozen=True)
class Authority:
    id: str
    name_de: str
    names: dict[str, str]
    source: str
    checked: date | None
    checked_how: str


@dataclass(frozen=True)
class ReferralText:
    lang: str
    title: str
    summary: str
    keywords: tuple[str, ...]
    machine: bool


@dataclass
class ReferralTopic:
    id: str
    measure: str | None  # the counselling measure the card points to first
    authority: str | None
    texts: dict[str, ReferralText] = field(default_factory=dict)


@dataclass(frozen=True)
class Office:
    id: str
    name_de: str
    names: dict[str, str]
    aliases: dict[str, tuple[str, ...]]
    referral: str | None
    measure: str | None


@dataclass
class Referrals:
    topics: dict[str, ReferralTopic] = field(default_factory=dict)
    authorities: dict[str, Authority] = field(default_factory=dict)
    offices: dict[str, Office] = field(default_factory=dict)

    @classmethod
    def load(cls, data_dir: Path) -> Referrals:
        data_dir = Path(data_dir)
        raw = _read(data_dir / REFERRALS_FILE)
        glossary = _read(data_dir / GLOSSARY_FILE)
        return cls.from_dicts(raw, glossary)

    @classmethod
    def from_dicts(cls, raw: dict, glossary: dict) -> Referrals:
        out = cls()
        for a in raw.get("authorities") or []:
            out.authorities[a["id"]] = Authority(
                a["id"],
                a.get("name_de", ""),
                dict(a.get("names") or {}),
                a.get("source") or "",
                as_date(a.get("checked")),
                a.get("checked_how") or "",
            )
        for t in raw.get("topics") or []:
            topic = ReferralTopic(t["id"], _measure(t.get("measure")), t.get("authority"))
            machine_default = bool(t.get("machine", True))
            for lang, tx in (t.get("texts") or {}).items():
                topic.texts[lang] = ReferralText(
                    lang,
                    tx.get("title", ""),
                    tx.get("summary", ""),
                    tuple(str(k) for k in tx.get("keywords") or ()),
                    bool(tx.get("machine", machine_default)),
                )
            out.topics[topic.id] = topic
        for o in glossary.get("offices") or []:
            out.offices[o["id"]] = Office(
                o["id"],
                o.get("name_de", ""),
                dict(o.get("names") or {}),
                {lang: tuple(str(a) for a in v or ()) for lang, v in (o.get("aliases") or {}).items()},
                o.get("referral"),
                _measure(o.get("measure")),
            )
        return out

    def aliases_for_topic(self, topic_id: str) -> dict[str, list[str]]:
        """Per language, the office names and spellings that lead to ``topic_id``."""
        out: dict[str, list[str]] = {}
        for office in self.offices.values():
            if office.referral != topic_id:
                continue
            for lang, names in office.aliases.items():
                out.setdefault(lang, []).extend(names)
            for lang, name in office.names.items():
                out.setdefault(lang, []).append(name)
        return out


def _measure(value) -> str | None:
    return None if value is None else str(value)


def _read(path: Path) -> dict:
    if not path.exists():
        return {}
    return yaml.safe_load(path.read_text(encoding="utf-8")) or {}
