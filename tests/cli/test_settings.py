from __future__ import annotations

from datetime import UTC, datetime, time

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


def test_secrets_are_in_no_repr_and_no_error_but_given_to_the_code():
    s = Settings.from_env({"TELEGRAM_BOT_TOKEN": "123456:ABC-secret", "WEBHOOK_SECRET": "hook-secret_1"})
    assert s.telegram_bot_token == "123456:ABC-secret" and s.webhook_secret == "hook-secret_1"
    assert "ABC-secret" not in repr(s) and "hook-secret" not in repr(s) and "ABC-secret" not in str(s)
    assert "ABC-secret" not in s.model_dump_json()
    for env in ({"TELEGRAM_BOT_TOKEN": "123456 ABC-secret"}, {"WEBHOOK_SECRET": "hook secret ABC-secret"}):
        with pytest.raises(SettingsError) as caught:
            Settings.from_env(env)
        assert next(iter(env)) in str(caught.value) and "ABC-secret" not in str(caught.value)


def test_values_are_parsed_blank_is_unset_and_a_mapping_is_all_that_is_read(monkeypatch):
    monkeypatch.setenv("WEBHOOK_PORT", "9999")
    s = Settings.from_env(
        {
            "WEBHOOK_PORT": " 8080 ",
            "ANKOMMEN_PROMPT_TIME": "7:30",
            "TELEGRAM_FLOOD_LIMIT": "5",
            "ANKOMMEN_ALERT_CHAT_ID": "-100",
            "TELEGRAM_BOT_USERNAME": "@AnkommenBot",
            "ANKOMMEN_LOG_LEVEL": "debug",
            "ANKOMMEN_STATUS_CADENCE": "monthly",
            "ANKOMMEN_NOW": "2026-12-24T10:00+01:00",
            "ANKOMMEN_TIMEZONE": "   ",
        }
    )
    assert (s.webhook_port, s.prompt_time, s.flood_limit, s.alert_chat_id) == (8080, time(7, 30), 5.0, -100)
    assert (s.bot_username, s.log_level, s.status_cadence_months) == ("AnkommenBot", "DEBUG", 1)
    assert s.now == datetime(2026, 12, 24, 9, 0, tzinfo=UTC) and s.timezone == "Europe/Berlin"
    assert Settings.from_env().webhook_port == 9999  # no mapping: the process's environment
    assert s.model_copy(update={"now": None}).now is None  # how `ankommen --now` replaces it


@pytest.mark.parametrize(
    "env, message",
    [
        ({"WEBHOOK_PORT": "0"}, "WEBHOOK_PORT must be a whole number from 1 to 65535; got '0'."),
        ({"ANKOMMEN_STATUS_CADENCE": "weekly"}, "ANKOMMEN_STATUS_CADENCE must be monthly, quarterly,"),
        (
            {"ANKOMMEN_REMINDER_DAYS": "14"},
            "ANKOMMEN_ESCALATION_DAYS must be more than ANKOMMEN_REMINDER_DAYS",
        ),
        (
            {"ANKOMMEN_PROMPT_TIME": "25:00"},
            "ANKOMMEN_PROMPT_TIME must be a local time like 09:00; got '25:00'.",
        ),
        ({"ANKOMMEN_NOW": "tomorrow"}, "ANKOMMEN_NOW must be an ISO 8601 time"),
        ({"WEBHOOK_URL": "http://example.org/hook"}, "WEBHOOK_URL must be an https:// URL"),
        ({"ANKOMMEN_ALERT_CHAT_ID": "coordinators"}, "ANKOMMEN_ALERT_CHAT_ID must be a Telegram chat id"),
    ],
)
def test_each_rule_names_its_variable_and_what_it_expects(env, message):
    with pytest.raises(SettingsError) as caught:
        Settings.from_env(env)
    assert str(caught.value).startswith(message)
