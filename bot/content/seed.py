"""Read the council document (the seed) into plain Python structures.

The seed is Markdown converted from the council's PDF. It is the single source of truth for
field titles, goals and measures. This parser is used twice:

* once, by a developer, to draft the reviewed YAML in ``data/concept/`` (``ankommen data
  draft-from-seed``), and
* by the tests and ``ankommen data check --seed``, to prove that the reviewed YAML still says
  exactly what the seed says.

Conversion artefacts are handled here, in one visible place:

* Markdown escapes (``Akteur\\*innen``) and emphasis markers are removed.
* Sub-headings come at several Markdown levels, bold, or as plain paragraphs.
* One sub-heading of field 1 ("Gleichberechtigung aller Geschlechter und
  Bevölkerungsgruppen") was glued to the end of the goal before it; it is split off
  (``GLUED_HEADINGS``).
* A measure number printed as ``3.1 u. a.`` keeps the number ``3.1`` and the note ``u. a.``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

GLUED_HEADINGS = ("Gleichberechtigung aller Geschlechter und Bevölkerungsgruppen",)

_FIELD_RE = re.compile(r"^Handlungsfeld (\d): (.+)$")
_MEASURE_RE = re.compile(r"^(\d\.\d+)( u\. a\.)?\t(.+?)\t(.+)$")
_TABLE_HEAD_RE = re.compile(r"^Nr\.\tHandlungsempfehlungen/Maßnahmen\tVerantwortlich$")
CROSS_CUTTING_TITLE = "Handlungsfeldübergreifendes"


@dataclass
class SeedGoalGroup:
    heading: str | None
    goals: list[str] = field(default_factory=list)


@dataclass
class SeedMeasure:
    number: str
    note: str | None
    text: str
    responsible: str


@dataclass
class SeedField:
    number: int
    title: str
    goal_groups: list[SeedGoalGroup] = field(default_factory=list)
    measures: list[SeedMeasure] = field(default_factory=list)


def clean(line: str) -> str:
    """Strip Markdown decoration and escapes; fold runs of white space."""
    line = re.sub(r"</?b>", "", line)
    line = line.replace("\\*", "*")
    line = line.strip()
    line = re.sub(r"^#+\s*", "", line)
    # Whole-line bold: **text**
    line = re.sub(r"^\*\*(.*)\*\*$", r"\1", line)
    return re.sub(r"[ \u00a0]+", " ", line).strip()


def normalise_ws(text: str) -> str:
    """Whitespace-insensitive form used to compare texts with the seed."""
    return re.sub(r"\s+", " ", text).strip()


def parse_seed(path: Path) -> list[SeedField]:
    """Parse the seed document into its seven fields of action."""
    fields: list[SeedField] = []
    current: SeedField | None = None
    in_measures = False
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = clean(raw)
        if not line:
            continue
        m = _FIELD_RE.match(line)
        if m or line == CROSS_CUTTING_TITLE:
            number = int(m.group(1)) if m else 7
            title = m.group(2) if m else CROSS_CUTTING_TITLE
            current = SeedField(number=number, title=title)
            fields.append(current)
            in_measures = False
            continue
        if current is None:
            continue  # document preamble
        if line == "Hauptziele":
            continue
        if line == "Handlungsempfehlungen und Maßnahmen":
            in_measures = True
            continue
        if in_measures:
            if _TABLE_HEAD_RE.match(line):
                continue
            mm = _MEASURE_RE.match(raw.strip())
            if not mm:
                raise ValueError(f"unrecognised line in a measures table: {raw!r}")
            current.measures.append(
                SeedMeasure(
                    number=mm.group(1),
                    note=mm.group(2).strip() if mm.group(2) else None,
                    text=clean(mm.group(3)),
                    responsible=clean(mm.group(4)),
                )
            )
            continue
        if line.startswith("- "):
            goal = line[2:].strip()
            glued = next((h for h in GLUED_HEADINGS if goal.endswith(" " + h)), None)
            if not current.goal_groups:
                current.goal_groups.append(SeedGoalGroup(heading=None))
            if glued:
                current.goal_groups[-1].goals.append(goal[: -len(glued)].strip())
                current.goal_groups.append(SeedGoalGroup(heading=glued))
            else:
                current.goal_groups[-1].goals.append(goal)
        else:
            current.goal_groups.append(SeedGoalGroup(heading=line))
    return fields
