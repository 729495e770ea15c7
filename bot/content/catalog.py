"""A read-only, in-memory view of the content store, with its search index.

Loaded once at start (and again after an import); the dialogue and the CLI read from it without
touching the database for every question. The current implementation status is read from the
store on demand, because staff change it while the bot runs.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from sqlalchemy import func
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from bot import paths
from bot.languages import FALLBACK_CHAIN
from bot.models import (
    ActionField,
    Goal,
    Measure,
    MeasureOrganisation,
    Offer,
    OfferMeasure,
    OfferProvider,
    Organisation,
    StatusReport,
    Translation,
)
from bot.residents.referrals import Referrals
from bot.residents.safety import Safety
from bot.search.index import (
    W_ACCESS,
    W_BODY,
    W_KEYWORD,
    W_OFFICIAL,
    W_PHRASE_WORD,
    W_SUMMARY,
    W_TITLE,
    SearchDoc,
    SearchIndex,
)


@dataclass(frozen=True)
class Text:
    lang: str
    title: str
    summary: str
    access: str | None
    keywords: tuple[str, ...]
    machine: bool
    outdated: bool = False


@dataclass
class OrgView:
    id: str
    name_de: str
    contact: dict[str, str]  # only the fields that exist


@dataclass
class Responsible:
    org: OrgView
    as_printed: str
    lead: bool
    # Named after "in Kooperation mit" / "in Zusammenarbeit mit" / "im Zusammenwirken mit": a
    # partner of the bodies in charge, not one of them (derived from the verbatim text).
    partner: bool = False


_PARTNER_MARKERS = ("in Kooperation mit", "in Kooperation", "in Zusammenarbeit mit", "im Zusammenwirken mit")


def partner_from(responsible_de: str) -> int | None:
    """Where the partners begin in a "Verantwortlich" text, or None when it names none."""
    found = [responsible_de.find(m) for m in _PARTNER_MARKERS if m in responsible_de]
    return min(found) if found else None


def load_stages(data_dir: Path) -> dict[str, str]:
    """data/concept/stages.yaml: measure number -> planned | review | continuing | internal."""
    import yaml

    path = Path(data_dir) / "concept" / "stages.yaml"
    if not path.exists():
        return {}
    raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    return {str(k): v["stage"] for k, v in (raw.get("stages") or {}).items()}


@dataclass
class MeasureView:
    number: str
    note: str | None
    field_number: int
    text_de: str
    responsible_de: str
    responsible: list[Responsible] = field(default_factory=list)
    offers: list[str] = field(default_factory=list)
    texts: dict[str, Text] = field(default_factory=dict)

    @property
    def printed_number(self) -> str:
        return f"{self.number} {self.note}" if self.note else self.number


@dataclass
class OfferView:
    id: str
    kind: str
    target_groups: list[str]
    measures: list[str]
    providers: list[tuple[OrgView, str]]
    contact: dict[str, str]
    texts: dict[str, Text] = field(default_factory=dict)


@dataclass
class FieldView:
    number: int
    title_de: str
    measures: list[str] = field(default_factory=list)
    goals: list[Goal] = field(default_factory=list)
    texts: dict[str, Text] = field(default_factory=dict)


@dataclass(frozen=True)
class Status:
    status: str
    progress: int | None
    reported_at: datetime


STATUS_TTL = 30.0  # seconds; several instances see each other's reports within this time


def _keyword_texts(keywords: tuple[str, ...], lang: str) -> list[tuple[str, float, str]]:
    """Single-word keywords weigh fully; the words of a multi-word keyword less each."""
    single = " ".join(k for k in keywords if len(k.split()) == 1)
    phrases = " ".join(k for k in keywords if len(k.split()) > 1)
    return [(single, W_KEYWORD, lang), (phrases, W_PHRASE_WORD, lang)]


def pick_text(texts: dict[str, Text], lang: str) -> Text | None:
    """The text in ``lang``, else in the fallback chain (en, de)."""
    for code in (lang, *FALLBACK_CHAIN):
        if code in texts:
            return texts[code]
    return next(iter(texts.values()), None)


class Catalog:
    def __init__(self, engine: Engine):
        self.engine = engine
        self.fields: dict[int, FieldView] = {}
        self.measures: dict[str, MeasureView] = {}
        self.offers: dict[str, OfferView] = {}
        self.organisations: dict[str, OrgView] = {}
        self.languages: set[str] = set()
        self.index: SearchIndex | None = None
        self.goal_texts: dict[str, dict[str, Text]] = {}  # goal id -> language -> text
        self._statuses: dict[str, Status] | None = None
        self._statuses_at = 0.0
        self.safety = Safety()  # data/safety.yaml: the safety card and what sets it off
        self.referrals = Referrals()  # data/referrals.yaml and glossary.yaml
        self.stages: dict[str, str] = {}  # measure -> stage (data/concept/stages.yaml)

    @classmethod
    def load(cls, engine: Engine, *, threshold: float | None = None, data_dir: Path | None = None) -> Catalog:
        """The store's content, plus the safety and referral data read from ``data_dir``."""
        cat = cls(engine)
        cat.safety = Safety.load(data_dir or paths.DATA_DIR)
        cat.referrals = Referrals.load(data_dir or paths.DATA_DIR)
        cat.stages = load_stages(data_dir or paths.DATA_DIR)
        with Session(engine) as s:
            for o in s.exec(select(Organisation)).all():
                cat.organisations[o.id] = OrgView(o.id, o.name_de, o.contact())
            for f in s.exec(select(ActionField).order_by(ActionField.number)).all():
                cat.fields[f.number] = FieldView(f.number, f.title_de)
            for g in s.exec(select(Goal).order_by(Goal.field_number, Goal.position)).all():
                cat.fields[g.field_number].goals.append(g)
            for m in s.exec(select(Measure).order_by(Measure.position)).all():
                cat.measures[m.number] = MeasureView(
                    m.number, m.note, m.field_number, m.text_de, m.responsible_de
                )
                cat.fields[m.field_number].measures.append(m.number)
            for r in s.exec(
                select(MeasureOrganisation).order_by(
                    MeasureOrganisation.measure_number, MeasureOrganisation.position
                )
            ).all():
                m = cat.measures[r.measure_number]
                cut = partner_from(m.responsible_de)
                at = m.responsible_de.find(r.as_printed)
                partner = cut is not None and at > cut and not r.lead
                m.responsible.append(
                    Responsible(cat.organisations[r.organisation_id], r.as_printed, r.lead, partner)
                )
            for o in s.exec(select(Offer).order_by(Offer.position)).all():
                cat.offers[o.id] = OfferView(o.id, o.kind, list(o.target_groups), [], [], o.contact())
            for om in s.exec(select(OfferMeasure).order_by(OfferMeasure.position)).all():
                cat.offers[om.offer_id].measures.append(om.measure_number)
                cat.measures[om.measure_number].offers.append(om.offer_id)
            for op in s.exec(select(OfferProvider).order_by(OfferProvider.position)).all():
                cat.offers[op.offer_id].providers.append((cat.organisations[op.organisation_id], op.role))
            for t in s.exec(select(Translation)).all():
                text = Text(t.lang, t.title, t.summary, t.access, tuple(t.keywords), t.machine, t.outdated)
                cat.languages.add(t.lang)
                if t.entity == "goal":
                    cat.goal_texts.setdefault(t.key, {})[t.lang] = text
                    continue
                target = {"field": cat.fields, "measure": cat.measures, "offer": cat.offers}.get(t.entity)
                if target is None:
                    continue
                key = int(t.key) if t.entity == "field" else t.key
                if key in target:
                    target[key].texts[t.lang] = text
        cat.index = cat.build_index(threshold=threshold)
        return cat

    def search_docs(self) -> list[SearchDoc]:
        docs: list[SearchDoc] = []
        for m in self.measures.values():
            wt: list[tuple[str, float, str | None]] = [(m.text_de, W_OFFICIAL, "de")]
            wt += [(r.as_printed, W_BODY, "de") for r in m.responsible]
            for t in m.texts.values():
                wt += [
                    (t.title, W_TITLE, t.lang),
                    (t.summary, W_SUMMARY, t.lang),
                    *_keyword_texts(t.keywords, t.lang),
                ]
            # Offices of the glossary that the concept itself names (the migration counselling of
            # 2.1, the social counselling of 7.2, the psychosocial centre of 4.30).
            for office in self.referrals.offices.values():
                if office.measure == m.number:
                    for lang, names in office.aliases.items():
                        wt += _keyword_texts(names, lang)
            docs.append(SearchDoc("measure", m.number, (m.number,), wt))
        for o in self.offers.values():
            wt = [(org.name_de, W_BODY, "de") for org, _ in o.providers]
            for t in o.texts.values():
                wt += [
                    (t.title, W_TITLE, t.lang),
                    (t.summary, W_SUMMARY, t.lang),
                    (t.access or "", W_ACCESS, t.lang),
                    *_keyword_texts(t.keywords, t.lang),
                ]
            docs.append(SearchDoc("offer", o.id, tuple(o.measures), wt))
        for r in self.referrals.topics.values():
            wt = []
            for t in r.texts.values():
                # The summary is not indexed: it names the counselling that helps with every
                # topic, so its words would make every referral match every question.
                wt += [(t.title, W_TITLE, t.lang), *_keyword_texts(t.keywords, t.lang)]
            for lang, names in self.referrals.aliases_for_topic(r.id).items():
                wt += _keyword_texts(tuple(names), lang)
            docs.append(SearchDoc("referral", r.id, (), wt))
        return docs

    def build_index(
        self, *, threshold: float | None = None, extra: list[SearchDoc] | None = None
    ) -> SearchIndex:
        kwargs = {} if threshold is None else {"threshold": threshold}
        return SearchIndex(self.search_docs() + (extra or []), **kwargs)

    # -- status ------------------------------------------------------------------------------
    def status_of(self, number: str) -> Status | None:
        """The measure's current status; read from the store at most every ``STATUS_TTL`` s."""
        now = time.monotonic()
        if self._statuses is None or now - self._statuses_at > STATUS_TTL:
            self._statuses = self.all_statuses()
            self._statuses_at = now
        return self._statuses.get(number)

    def invalidate_statuses(self) -> None:
        """Called after a status report is written in this process, so cards show it at once."""
        self._statuses = None

    def all_statuses(self) -> dict[str, Status]:
        with Session(self.engine) as s:
            latest = (
                select(StatusReport.measure_number, func.max(StatusReport.id).label("id"))
                .group_by(StatusReport.measure_number)
                .subquery()
            )
            rows = s.exec(select(StatusReport).join(latest, StatusReport.id == latest.c.id)).all()
        return {r.measure_number: Status(r.status, r.progress, r.reported_at) for r in rows}
