"""Settings: read once from the environment at start, validated, then passed down.

Nothing here runs at import time; ``Settings.from_env()`` is called by the CLI (the composition
root) and the resulting object is handed to whatever needs it.

The settings are a pydantic-settings model, read as a table: each field names its environment
variable (the field's alias), its default, and the rule a value must meet. A blank variable counts
as unset. A wrong value raises ``SettingsError`` naming the variable and what is expected. The two
secrets, the bot token and the webhook secret, are ``SecretStr`` from the moment they are read:
never in a repr, an error message or a log line; ``telegram_bot_token`` and ``webhook_secret``
give their text to the code that needs it.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime, time
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from pydantic import (
    BeforeValidator,
    Field,
    SecretStr,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic.fields import FieldInfo
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from bot import paths
from bot.languages import SUPPORTED_LANGUAGES
from bot.staff.schedule import CADENCES, parse_cadence

DEFAULT_API_BASE_URL = "https://api.telegram.org/bot"


class SettingsError(ValueError):
    """A setting has a wrong value. The message names the variable and what is expected."""


# --- the rules: each turns a variable's text into its value, or raises ValueError(what is expected)


def rule(parse: Callable[[str], Any], expected: str) -> BeforeValidator:
    """A rule from a parser that raises ValueError (or returns None) on a wrong value."""

    def check(raw: Any) -> Any:
        text = raw.get_secret_value() if isinstance(raw, SecretStr) else raw
        try:
            value = parse(text)
        except (ValueError, LookupError):
            value = None
        if value is None:
            raise ValueError(expected)
        return SecretStr(value) if isinstance(raw, SecretStr) else value

    return BeforeValidator(check)


def _listed(words: Iterable[str]) -> str:
    *rest, last = words
    return f"{', '.join(rest)} or {last}" if rest else last


def whole(low: int, high: int) -> BeforeValidator:
    return rule(
        lambda raw: int(raw) if low <= int(raw) <= high else None,
        f"must be a whole number from {low} to {high}",
    )


def one_of(choices: Iterable[str], normal: Callable[[str], str] = str.lower) -> BeforeValidator:
    choices = tuple(choices)
    return rule(lambda raw: normal(raw) if normal(raw) in choices else None, f"must be {_listed(choices)}")


def matching(pattern: str, expected: str, clean: Callable[[str], str] = str) -> BeforeValidator:
    return rule(lambda raw: clean(raw) if re.fullmatch(pattern, clean(raw)) else None, expected)


def url(schemes: tuple[str, ...], expected: str) -> BeforeValidator:
    def parse(raw: str) -> str | None:
        parts = urlsplit(raw)
        return raw if parts.scheme in schemes and parts.netloc else None

    return rule(parse, expected)


def _time_zone(raw: str) -> str:
    ZoneInfo(raw)  # ZoneInfoNotFoundError is a KeyError; a malformed name a ValueError
    return raw


def _clock_time(raw: str) -> time | None:
    match = re.fullmatch(r"([01]?\d|2[0-3]):([0-5]\d)", raw)
    return time(int(match.group(1)), int(match.group(2))) if match else None


def _seconds(raw: str) -> float | None:
    value = float(raw)
    return value if 0 < value <= 300 else None


def _moment(raw: str) -> datetime:
    from bot.clock import parse_moment

    return parse_moment(raw)


def _chat_id(raw: str) -> int | None:
    return int(raw) if re.fullmatch(r"-?\d+", raw) else None


# The rules that are not a plain range or choice, with what each expects.
TOKEN = matching(
    r"[^\s:]*:\S*", "does not look like a bot token (expected '<digits>:<secret>' as given by @BotFather)"
)
BASE_URL = url(
    ("http", "https"),
    "must be an http(s) URL in the form of python-telegram-bot's base_url, "
    f"e.g. {DEFAULT_API_BASE_URL} (the token is appended)",
)
TIME_ZONE = rule(_time_zone, "must be an IANA time zone such as Europe/Berlin")
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")
WEBHOOK_URL = url(("https",), "must be an https:// URL that Telegram can reach")
WEBHOOK_SECRET = matching(
    r"[A-Za-z0-9_-]{1,256}", "must be 1-256 characters of A-Z, a-z, 0-9, _ and - (Telegram's rule)"
)
CHAT_ID = rule(_chat_id, "must be a Telegram chat id (an integer)")
USERNAME = matching(
    r"[A-Za-z][A-Za-z0-9_]{3,31}", "must be a bot username like AnkommenBot", lambda raw: raw.lstrip("@")
)
CADENCE = rule(parse_cadence, f"must be {', '.join(CADENCES)} or a number of months from 1 to 24")
CLOCK_TIME = rule(_clock_time, "must be a local time like 09:00")
BUSY_SECONDS = rule(_seconds, "must be seconds, more than 0 and at most 300")
MOMENT = rule(_moment, "must be an ISO 8601 time like 2026-12-24T10:00+01:00")


# --- where the values come from ------------------------------------------------------------------


class _Environment(PydanticBaseSettingsSource):
    """One environment's variables (``os.environ``, or the mapping a test gives): each field's
    variable is its alias; a blank value counts as unset; a secret is a SecretStr from here on."""

    def __init__(self, settings_cls: type[BaseSettings], env: Mapping[str, str]):
        super().__init__(settings_cls)
        self.env = env

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        raw = (self.env.get(field.alias) or "").strip() or None
        if raw is not None and _is_secret(field):
            return SecretStr(raw), field.alias, False
        return raw, field.alias, False

    def __call__(self) -> dict[str, Any]:
        found = {}
        for name, field in self.settings_cls.model_fields.items():
            value, key, _ = self.get_field_value(field, name)
            if value is not None:
                found[key] = value
        return found


def _is_secret(field: FieldInfo) -> bool:
    return field.annotation is SecretStr or SecretStr in getattr(field.annotation, "__args__", ())


def var(name: str, default: Any = None, **kw: Any) -> Any:
    return Field(default, alias=name, **kw)


# --- the settings ----------------------------------------------------------------------------


class Settings(BaseSettings):
    # Defaults are values already (validate_default: off); only what the environment gives is checked.
    model_config = SettingsConfigDict(frozen=True, extra="ignore", validate_default=False)

    # Each field: its type and rule, then its variable and default. ANKOMMEN_STATE_DIR only places
    # the default SQLite file (DATABASE_URL unset).
    state_dir: Path = var("ANKOMMEN_STATE_DIR", paths.STATE_DIR)
    database_url: str = var("DATABASE_URL", "", validate_default=True)
    bot_token: Annotated[SecretStr | None, TOKEN] = var("TELEGRAM_BOT_TOKEN")
    telegram_api_base_url: Annotated[str, BASE_URL] = var("TELEGRAM_API_BASE_URL", DEFAULT_API_BASE_URL)
    default_language: Annotated[str, one_of(SUPPORTED_LANGUAGES)] = var("ANKOMMEN_DEFAULT_LANGUAGE", "de")
    timezone: Annotated[str, TIME_ZONE] = var("ANKOMMEN_TIMEZONE", "Europe/Berlin")
    data_dir: Path = var("ANKOMMEN_DATA_DIR", paths.DATA_DIR)
    log_level: Annotated[str, one_of(LOG_LEVELS, str.upper)] = var("ANKOMMEN_LOG_LEVEL", "INFO")
    webhook_url: Annotated[str | None, WEBHOOK_URL] = var("WEBHOOK_URL")
    webhook_listen: str = var("WEBHOOK_LISTEN", "0.0.0.0")
    webhook_port: Annotated[int, whole(1, 65535)] = var("WEBHOOK_PORT", 8443)
    webhook_secret_token: Annotated[SecretStr | None, WEBHOOK_SECRET] = var("WEBHOOK_SECRET")
    alert_chat_id: Annotated[int | None, CHAT_ID] = var("ANKOMMEN_ALERT_CHAT_ID")
    rate_limit_per_minute: Annotated[int, whole(1, 10_000)] = var("ANKOMMEN_RATE_LIMIT", 20)
    flood_limit: Annotated[float, whole(0, 10_000)] = var("TELEGRAM_FLOOD_LIMIT", 30.0)
    # where an update's answer is computed: "auto" = in a worker thread on PostgreSQL (a network
    # round trip per statement), on the event loop on SQLite (a local file: see handlers/frontend.py)
    answer_thread: Annotated[str, one_of(("auto", "yes", "no"))] = var("ANKOMMEN_ANSWER_THREAD", "auto")
    bot_username: Annotated[str | None, USERNAME] = var("TELEGRAM_BOT_USERNAME")
    status_cadence_months: Annotated[int, CADENCE] = var("ANKOMMEN_STATUS_CADENCE", 3)
    prompt_time: Annotated[time, CLOCK_TIME] = var("ANKOMMEN_PROMPT_TIME", time(9, 0))
    reminder_days: Annotated[int, whole(1, 365)] = var("ANKOMMEN_REMINDER_DAYS", 7)
    escalation_days: Annotated[int, whole(1, 365)] = var("ANKOMMEN_ESCALATION_DAYS", 14)
    correction_hours: Annotated[int, whole(0, 24 * 90)] = var("ANKOMMEN_CORRECTION_HOURS", 48)
    invite_days: Annotated[int, whole(1, 365)] = var("ANKOMMEN_INVITE_DAYS", 14)
    newsletter_rate: Annotated[int, whole(1, 10_000)] = var("ANKOMMEN_NEWSLETTER_RATE", 30)
    newsletter_missing_language: Annotated[str, one_of(("german", "skip"))] = var(
        "ANKOMMEN_NEWSLETTER_MISSING_LANGUAGE", "german"
    )
    newsletter_hold_hours: Annotated[int, whole(0, 24 * 30)] = var("ANKOMMEN_NEWSLETTER_HOLD_HOURS", 6)
    newsletter_lease: Annotated[int, whole(2, 3600)] = var("ANKOMMEN_NEWSLETTER_LEASE", 10)
    leader_check_seconds: Annotated[int, whole(1, 300)] = var("ANKOMMEN_LEADER_CHECK_SECONDS", 5)
    db_busy_timeout: Annotated[float, BUSY_SECONDS] = var("ANKOMMEN_DB_BUSY_TIMEOUT", 10.0)
    # ANKOMMEN_NOW / ankommen --now: the moment the process's clock starts at (None: the real time)
    now: Annotated[datetime | None, MOMENT] = var("ANKOMMEN_NOW")

    @field_validator("database_url")
    @classmethod
    def _database_url(cls, raw: str, info: ValidationInfo) -> str:
        if not raw:
            state_dir = info.data.get("state_dir", paths.STATE_DIR)
            return f"sqlite:///{(state_dir / 'ankommen.db').resolve()}"
        scheme = raw.split(":", 1)[0].lower()
        if scheme in ("postgres", "postgresql"):
            return "postgresql+psycopg:" + raw.split(":", 1)[1]  # psycopg 3 is the driver we ship
        if scheme in ("postgresql+psycopg", "sqlite"):
            return raw
        raise ValueError(
            "must start with postgresql:// (PostgreSQL) or sqlite:/// (a SQLite file); "
            f"got a URL with scheme {scheme!r}"
        )

    @model_validator(mode="after")
    def _reminder_before_escalation(self) -> Settings:
        if self.escalation_days <= self.reminder_days:
            raise ValueError(
                "ANKOMMEN_ESCALATION_DAYS must be more than ANKOMMEN_REMINDER_DAYS "
                f"(the reminder comes first); got {self.escalation_days} and {self.reminder_days}."
            )
        return self

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        """The settings from ``env`` (default: the process's environment), or SettingsError."""
        source = _Environment(cls, os.environ if env is None else env)
        try:
            return cls(_build_sources=((source,), {}))
        except ValidationError as exc:
            raise _explained(cls, exc) from None

    @property
    def telegram_bot_token(self) -> str | None:
        return self.bot_token.get_secret_value() if self.bot_token else None

    @property
    def webhook_secret(self) -> str | None:
        return self.webhook_secret_token.get_secret_value() if self.webhook_secret_token else None

    def clock(self):
        """The process's one clock (``bot.clock.Clock``): the real time, or ``now`` running on."""
        from bot.clock import Clock

        return Clock(self.now)

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @property
    def answers_in_thread(self) -> bool:
        """``ANKOMMEN_ANSWER_THREAD``: compute answers in a worker thread, not on the event loop."""
        return self.answer_thread == "yes" or (self.answer_thread == "auto" and not self.is_sqlite)

    def redacted_database_url(self) -> str:
        """The database URL without a password, for log lines."""
        parts = urlsplit(self.database_url)
        if parts.password:
            netloc = parts.netloc.replace(":" + parts.password + "@", ":***@")
            return parts._replace(netloc=netloc).geturl()
        return self.database_url


def _explained(cls: type[Settings], exc: ValidationError) -> SettingsError:
    """The first error, named by its variable; a secret's value is never repeated."""
    error = exc.errors(include_url=False)[0]
    cause = error.get("ctx", {}).get("error")
    expected = str(cause) if cause is not None else error["msg"]
    if not error["loc"]:  # a rule across variables: its message names them
        return SettingsError(expected)
    name = str(error["loc"][0])
    secret = any(_is_secret(f) for f in cls.model_fields.values() if f.alias == name)
    shown = "" if secret or "; got " in expected else f"; got {error['input']!r}"
    return SettingsError(f"{name} {expected}{shown}.")
