"""Where the project's own files live, resolved from this package (no import-time I/O)."""

from __future__ import annotations

from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DATA_DIR = PROJECT_ROOT / "data"
LOCALES_DIR = PROJECT_ROOT / "locales"
MIGRATIONS_DIR = PROJECT_ROOT / "migrations"
STATE_DIR = PROJECT_ROOT / "var"
TEMPLATES_DIR = PROJECT_ROOT / "bot" / "templates"
SEED_FILE = PROJECT_ROOT.parent / "shared" / "seed" / "integrationskonzept-magdeburg-anlage2.md"
