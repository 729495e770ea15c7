"""The gettext cycle for interface strings: extract -> update -> compile (Babel's frontend)."""

from __future__ import annotations

from babel.messages.frontend import CommandLineInterface

from bot import paths

POT = paths.LOCALES_DIR / "messages.pot"
MAPPING = paths.LOCALES_DIR / "babel.cfg"


def _pybabel(*argv: str) -> int:
    CommandLineInterface().run(["pybabel", "-q", *argv])
    return 0


def update_catalogs() -> int:
    """Extract every message from bot/ and handlers/ and merge it into each catalog (no fuzzy)."""
    root = paths.PROJECT_ROOT
    _pybabel(
        "extract",
        "-F",
        str(MAPPING),
        "-o",
        str(POT),
        "--no-location",
        "--sort-output",
        "--no-wrap",
        "--project",
        "Ankommen",
        "--copyright-holder",
        "Ankommen contributors",
        "--msgid-bugs-address",
        "none",
        str(root / "bot"),
        str(root / "handlers"),
    )
    return _pybabel(
        "update", "--no-wrap", "-N", "-i", str(POT), "-d", str(paths.LOCALES_DIR), "--ignore-obsolete"
    )


def compile_catalogs() -> int:
    return _pybabel("compile", "--statistics", "-d", str(paths.LOCALES_DIR))
