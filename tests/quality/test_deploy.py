"""The deployment files say what the code does: the compose file's settings are ones the bot
knows and accepts, and the image runs the README's first command."""

from __future__ import annotations

import re

import yaml

from bot import paths
from bot.settings import Settings

COMPOSE = paths.PROJECT_ROOT / "docker-compose.yml"


def _substitute(value: str) -> str:
    """Compose's ${NAME:-default} and ${NAME:?error}, with test values for what must be set."""
    given = {"TELEGRAM_BOT_TOKEN": "123456:compose-test-token"}

    def one(m: re.Match) -> str:
        name, op, rest = m.group(1), m.group(2) or "", m.group(3) or ""
        return given.get(name, rest if op == ":-" else "")

    return re.sub(r"\$\{([A-Z_]+)(?:(:-|:\?)([^}]*))?\}", one, value)


def test_compose_runs_three_instances_on_postgres_with_settings_the_bot_accepts():
    compose = yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))
    bot = compose["services"]["bot"]
    assert bot["deploy"]["replicas"] == 3 and bot["command"] == ["run"]
    assert bot["depends_on"]["postgres"]["condition"] == "service_healthy"
    env = {k: _substitute(str(v)) for k, v in bot["environment"].items()}
    readme = (paths.PROJECT_ROOT / "README.md").read_text(encoding="utf-8")
    for name in env:
        assert f"`{name}`" in readme, f"{name} is not documented in the README"
    settings = Settings.from_env(env)  # raises SettingsError on a wrong value
    assert settings.database_url.startswith("postgresql+psycopg://ankommen:")
    assert settings.database_url.endswith("@postgres:5432/ankommen")
    # The replicas share one budget (bot/store/budget.py): the rate is their total, within
    # Telegram's 30 messages a second however many replicas run.
    assert settings.newsletter_rate <= 30


def test_the_image_runs_the_main_job():
    dockerfile = (paths.PROJECT_ROOT / "Dockerfile").read_text(encoding="utf-8")
    assert 'ENTRYPOINT ["ankommen"]' in dockerfile and 'CMD ["run"]' in dockerfile
    for part in ("bot", "handlers", "migrations", "locales", "data"):
        assert f"COPY {part} ./{part}" in dockerfile
    # The image installs what CI audited: the hashed lock file, which exists.
    assert "--require-hashes -r .ci/requirements.lock" in dockerfile
    assert (paths.PROJECT_ROOT / ".ci" / "requirements.lock").is_file()
