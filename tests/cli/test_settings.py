from __future__ import annotations

import pytest

from bot.settings import DEFAULT_API_BASE_URL, Settings, SettingsError
from tests.helpers import run_cli


def test_defaults_are_a_sqlite_file_in_the_state_dir(tmp_path):
    s = Settings.from_env({"ANKOMMEN_STATE_DIR": str(tmp_path)})
    assert s.database_url == f"sqlite:///{tmp_path.resolve() / 'ankommen.db'}"
    assert s.telegram_bot_token is None
    assert s.telegram_api_base_url == DEFAULT_API_BASE_URL
    assert s.default_language == "de" and s.timezone == "Europe/Berlin"


def test_postgres_url_gets_the_psycopg_driver():
    s = Settings.from_env({"DATABASE_URL": "postgresql://bot:secret@db:5432/ankommen"})
    assert s.database_url == "postgresql+psycopg://bot:secret@db:5432/ankommen"
    assert "secret" not in s.redacted_database_url()


def test_token_is_never_in_the_repr():
    s = Settings.from_env({"TELEGRAM_BOT_TOKEN": "123456:ABC-secret"})
    assert "ABC-secret" not in repr(s)


@pytest.mark.parametrize(
    "env, needle",
    [
        ({"DATABASE_URL": "mysql://x"}, "DATABASE_URL"),
        ({"TELEGRAM_BOT_TOKEN": "not a token"}, "TELEGRAM_BOT_TOKEN"),
        ({"TELEGRAM_API_BASE_URL": "ftp://x"}, "TELEGRAM_API_BASE_URL"),
        ({"ANKOMMEN_DEFAULT_LANGUAGE": "xx"}, "ANKOMMEN_DEFAULT_LANGUAGE"),
        ({"ANKOMMEN_TIMEZONE": "Mars/Olympus"}, "ANKOMMEN_TIMEZONE"),
        ({"ANKOMMEN_LOG_LEVEL": "LOUD"}, "ANKOMMEN_LOG_LEVEL"),
    ],
)
def test_wrong_values_are_named(env, needle):
    with pytest.raises(SettingsError, match=needle):
        Settings.from_env(env)


def test_cli_reports_a_wrong_setting_clearly(tmp_path):
    result = run_cli(
        "measures", env={"ANKOMMEN_DEFAULT_LANGUAGE": "klingon", "ANKOMMEN_STATE_DIR": str(tmp_path)}
    )
    assert result.returncode == 2
    assert "configuration error: ANKOMMEN_DEFAULT_LANGUAGE" in result.stderr
    assert "Traceback" not in result.stderr
