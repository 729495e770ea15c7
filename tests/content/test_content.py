"""The reviewed YAML holds the whole concept, exactly as the seed says, and data check guards it."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
import yaml

from bot import paths
from bot.content.load import CONTACT_FIELDS
from bot.content.seed import normalise_ws, parse_seed
from bot.content.validate import check_against_seed
from tests.helpers import run_cli
from tests.support.inputs import SEED, require_seed, seed_measure_rows


@pytest.fixture
def seed():
    require_seed()
    return SEED


def test_exactly_the_59_measures_of_the_seed(content):
    rows = seed_measure_rows()
    assert len(rows) == 59
    printed = [m["number"] + (" " + m["note"] if m.get("note") else "") for m in content.measures]
    assert printed == [r[0] for r in rows]
    for (number, text, responsible), m in zip(rows, content.measures, strict=True):
        assert normalise_ws(m["text_de"]) == normalise_ws(text), number
        assert normalise_ws(m["responsible_de"]) == normalise_ws(responsible), number


def test_numbers_with_a_note_keep_number_and_note(content):
    by_number = {m["number"]: m for m in content.measures}
    assert by_number["3.1"]["note"] == "u. a."
    assert by_number["3.5"]["note"] == "u. a."
    assert by_number["4.14"]["note"] is None
    assert by_number["1.24"]["text_de"].startswith("Interkulturellen Senior*innen-Newsletter")


def test_seven_fields_and_every_goal(seed, content):
    assert [f["number"] for f in content.fields] == [1, 2, 3, 4, 5, 6, 7]
    assert content.fields[6]["title_de"] == "Handlungsfeldübergreifendes"
    seed_text = normalise_ws(SEED.read_text(encoding="utf-8").replace("\\*", "*"))
    bullets = [line for line in SEED.read_text(encoding="utf-8").splitlines() if line.startswith("- ")]
    assert len(content.goals) == len(bullets)
    for goal in content.goals:
        assert normalise_ws(goal["text_de"]) in seed_text, goal["id"]
    headings = {g["heading_de"] for g in content.goals}
    assert (
        "Wohnen" in headings and "Gleichberechtigung aller Geschlechter und Bevölkerungsgruppen" in headings
    )


def test_reviewed_yaml_matches_the_seed_parser(seed, content):
    assert check_against_seed(content, SEED) == []
    assert sum(len(f.measures) for f in parse_seed(SEED)) == 59


def test_lead_only_where_the_concept_says_federfuehrend(content):
    for m in content.measures:
        leads = [r for r in m["responsible"] if r["lead"]]
        if "federführend" in m["responsible_de"]:
            assert leads, m["number"]
        else:
            assert not leads, m["number"]
        for r in m["responsible"]:
            assert r["as_printed"] in m["responsible_de"]


REQUIRED_OFFERS = {
    "4.14": "housing-counselling",
    "4.3": "private-housing",
    "4.5": "tenant-work",
    "4.30": "psychosocial-centre",
    "4.32": "psychosocial-centre",
    "1.24": "newsletter-seniors",
    "1.32": "newsletter-women",
    "1.33": "women-empowerment",
    "1.19": "festival-of-cultures",
    "2.17": "german-intensive-pupils",
    "2.15": "vocational-tutoring",
    "3.32": "qualification-recognition",
    "7.2": "social-counselling",
    "7.4": "interpreter-pool",
    "4.44": "blickwechsel",
    "7.12": "integration-prize",
    "5.43": "naturalisation",
}


def test_required_offers_exist_and_point_at_their_measures(content):
    offers = {o["id"]: o for o in content.offers}
    for number, offer_id in REQUIRED_OFFERS.items():
        assert number in offers[offer_id]["measures"], (offer_id, number)
    afima = next(o for o in content.organisations if o["id"] == "afima")
    assert "AFIMA" in afima["name_de"]


SOURCED = ("safety.yaml", "referrals.yaml")  # facts from outside the concept, each with its source


def test_no_contact_detail_is_invented(content):
    """The seed names no phone, e-mail, address, hours or URL, so every contact field is empty;
    the only facts from outside the concept are the sourced ones of ``SOURCED``."""
    for item in content.organisations + content.offers:
        for key in CONTACT_FIELDS:
            assert not (item.get("contact") or {}).get(key), (item["id"], key)
    files = [p for p in paths.DATA_DIR.rglob("*.yaml") if p.name not in SOURCED]
    all_data = "\n".join(p.read_text(encoding="utf-8") for p in files)
    assert not re.search(r"[\w.+-]+@[\w-]+\.[a-z]{2,}", all_data)
    assert not re.search(r"https?://|www\.", all_data)
    assert not re.search(r"(\+49|0049|\(0391\)|0391[ /-]?\d{3,})", all_data)
    assert not re.search(
        r"\b(?:0800|116|110|112)[ \d]{0,12}\b", all_data
    )  # the emergency numbers stay in safety.yaml


def test_facts_from_outside_the_concept_stand_only_where_their_source_stands():
    """In the sourced files a URL is only ever a ``source``/note value, and every phone number
    belongs to a contact that has a source and a check date."""
    import yaml

    for name in SOURCED:
        raw = yaml.safe_load((paths.DATA_DIR / name).read_text(encoding="utf-8"))
        for section in ("contacts", "authorities"):
            for item in raw.get(section) or []:
                assert str(item.get("source", "")).startswith(("https://", "http://")), (name, item["id"])
                assert item.get("checked"), (name, item["id"])
        texts = yaml.safe_dump(raw.get("card", {})) + yaml.safe_dump(raw.get("topics", []))
        assert not re.search(r"https?://|www\.|@[\w-]+\.", texts), name
    safety = yaml.safe_load((paths.DATA_DIR / "safety.yaml").read_text(encoding="utf-8"))
    numbers = {n for c in safety["contacts"] for n in (c.get("numbers") or [c.get("number")])}
    assert numbers == {"112", "110", "0800 111 0 111", "0800 111 0 222", "116 123", "116 016", "116 111"}


def test_every_entry_has_plain_language_text_in_german_and_english(content):
    for lang in ("de", "en"):
        for m in content.measures:
            t = content.texts[("measure", m["number"], lang)]
            assert t["title"] and t["summary"] and len(t["keywords"]) >= 5, (lang, m["number"])
            assert t["machine"] is True
        for o in content.offers:
            t = content.texts[("offer", o["id"], lang)]
            assert t["title"] and t["summary"] and t["access"] and t["keywords"], (lang, o["id"])
        for f in content.fields:
            assert content.texts[("field", str(f["number"]), lang)]["title"]


def test_data_check_passes_on_the_repository(seed, tmp_path):
    result = run_cli("data", "check", env={"ANKOMMEN_STATE_DIR": str(tmp_path)})
    assert result.returncode == 0, result.stdout + result.stderr
    assert "59 measures" in result.stdout and "matches the seed" in result.stdout


def _broken_copy(tmp_path: Path, edit) -> Path:
    root = tmp_path / "data"
    shutil.copytree(paths.DATA_DIR, root)
    edit(root)
    return root


def _edit_yaml(path: Path, change) -> None:
    doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    change(doc)
    path.write_text(yaml.safe_dump(doc, allow_unicode=True, sort_keys=False), encoding="utf-8")


@pytest.mark.parametrize(
    "edit, expected",
    [
        (
            lambda r: _edit_yaml(r / "concept/measures.yaml", lambda d: d.append(dict(d[0]))),
            "concept/measures.yaml: measure 1.8: duplicate measure number",
        ),
        (
            lambda r: _edit_yaml(r / "concept/measures.yaml", lambda d: d[3].update(field=9)),
            "concept/measures.yaml: measure 1.11: unknown field 9",
        ),
        (
            lambda r: _edit_yaml(r / "concept/offers.yaml", lambda d: d[0].update(measures=["4.99"])),
            "concept/offers.yaml: offer housing-counselling: points to missing measure '4.99'",
        ),
        (
            lambda r: _edit_yaml(
                r / "i18n/en/measures.yaml", lambda d: d["measures"]["4.14"].update(summary="")
            ),
            "i18n/en/measures.yaml: 4.14: missing summary",
        ),
        (
            lambda r: _edit_yaml(
                r / "concept/offers.yaml", lambda d: d[0]["contact"].update(phone="0391 1234567")
            ),
            "concept/offers.yaml: housing-counselling: contact phone '0391 1234567' is not in the sources",
        ),
        (
            lambda r: _edit_yaml(r / "concept/measures.yaml", lambda d: d[5].update(text_de="Anders")),
            "concept/measures.yaml: measure 1.13: text_de differs from the seed",
        ),
    ],
    ids=["duplicate", "no-field", "missing-measure", "missing-summary", "invented-phone", "text-drift"],
)
def test_data_check_names_file_and_entry(seed, tmp_path, edit, expected):
    root = _broken_copy(tmp_path, edit)
    result = run_cli("data", "check", str(root), env={"ANKOMMEN_STATE_DIR": str(tmp_path)})
    assert result.returncode == 1
    assert expected in result.stdout, result.stdout
