"""Settings: read once from the environment at start, validated, then passed down.

Nothing here runs at import time; ``Settings.from_env()`` is called by the CLI (the composition
root) and the resulting object is handed to whatever needs it.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, time
from pathlib import Path
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot import paths
from bot.languages import SUPPORTED_LANGUAGES
from bot.staff.schedule import parse_cadence

DEFAULT_API_BASE_URL = "https://api.telegram.org/bot"


class SettingsError(ValueError):
    """A setting has a wrong value. The message names the variable and what is expected."""


@dataclass(frozen=True)
class Settings:
    database_url: str
    telegram_bot_token: str | None = field(default=None, repr=False)  # never printed
    telegram_api_base_url: str = DEFAULT_API_BASE_URL
    default_language: str = "de"
    timezone: str = "Europe/Berlin"
    data_dir: Path = paths.DATA_DIR
    log_level: str = "INFO"
    webhook_url: str | None = None
    webhook_listen: str = "0.0.0.0"
    webhook_port: int = 8443
    webhook_secret: str | None = field(default=None, repr=False)  # never printed
    alert_chat_id: int | None = None
    rate_limit_per_minute: int = 20
    flood_limit: float = 30.0
    bot_username: str | None = None
    status_cadence_months: int = 3
    prompt_time: time = time(9, 0)
    reminder_days: int = 7
    escalation_days: int = 14
    correction_hours: int = 48
    invite_days: int = 14
    newsletter_rate: int = 25
    newsletter_missing_language: str = "german"
    newsletter_hold_hours: int = 6
    newsletter_lease: int = 10
    leader_check_seconds: int = 5
    db_busy_timeout: float = 10.0
    # ANKOMMEN_NOW / ankommen --now: the moment the process's clock starts at (None: the real time)
    now: datetime | None = None

    def clock(self):
        """The process's one clock (``bot.clock.Clock``): the real time, or ``now`` running on."""
        from bot.clock import Clock

        return Clock(self.now)

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    def redacted_database_url(self) -> str:
        """The database URL without a password, for log lines."""
        parts = urlsplit(self.database_url)
        if parts.password:
            netloc = parts.netloc.replace(":" + parts.password + "@", ":***@")
            return parts._replace(netloc=netloc).geturl()
        return self.database_url

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env

        def get(name: str) -> str | None:
            value = env.get(name)
            return value.strip() if value and value.strip() else None

        state_dir = Path(get("ANKOMMEN_STATE_DIR") or paths.STATE_DIR)
        database_url = _database_url(get("DATABASE_URL"), state_dir)

        token = get("TELEGRAM_BOT_TOKEN")
        if token is not None and (":" not in token or any(c.isspace() for c in token)):
            raise SettingsError(
                "TELEGRAM_BOT_TOKEN does not look like a bot token (expected '<digits>:<secret>' "
                "as given by @BotFather)."
            )

        base_url = get("TELEGRAM_API_BASE_URL") or DEFAULT_API_BASE_URL
        parts = urlsplit(base_url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise SettingsError(
                "TELEGRAM_API_BASE_URL must be an http(s) URL in the form of python-telegram-bot's "
                f"base_url, e.g. {DEFAULT_API_BASE_URL} (the token is appended); got {base_url!r}."
            )

        language = (get("ANKOMMEN_DEFAULT_LANGUAGE") or "de").lower()
        if language not in SUPPORTED_LANGUAGES:
            raise SettingsError(
                f"ANKOMMEN_DEFAULT_LANGUAGE must be one of {', '.join(SUPPORTED_LANGUAGES)}; "
                f"got {language!r}."
            )

        timezone = get("ANKOMMEN_TIMEZONE") or "Europe/Berlin"
        try:
            ZoneInfo(timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise SettingsError(
                f"ANKOMMEN_TIMEZONE must be an IANA time zone such as Europe/Berlin; got {timezone!r}."
            ) from None

        data_dir = Path(get("ANKOMMEN_DATA_DIR") or paths.DATA_DIR)
        log_level = (get("ANKOMMEN_LOG_LEVEL") or "INFO").upper()
        if log_level not in ("DEBUG", "INFO", "WARNING", "ERROR"):
            raise SettingsError(
                f"ANKOMMEN_LOG_LEVEL must be DEBUG, INFO, WARNING or ERROR; got {log_level!r}."
            )
        webhook_url = get("WEBHOOK_URL")
        if webhook_url is not None:
            wparts = urlsplit(webhook_url)
            if wparts.scheme != "https" or not wparts.netloc:
                raise SettingsError(
                    f"WEBHOOK_URL must be an https:// URL that Telegram can reach; got {webhook_url!r}."
                )
        webhook_port = _int(get("WEBHOOK_PORT"), "WEBHOOK_PORT", 8443, 1, 65535)
        webhook_secret = get("WEBHOOK_SECRET")
        if webhook_secret is not None and not re.fullmatch(r"[A-Za-z0-9_-]{1,256}", webhook_secret):
            raise SettingsError(
                "WEBHOOK_SECRET must be 1-256 characters of A-Z, a-z, 0-9, _ and - (Telegram's rule)."
            )
        alert = get("ANKOMMEN_ALERT_CHAT_ID")
        if alert is not None and not re.fullmatch(r"-?\d+", alert):
            raise SettingsError(
                f"ANKOMMEN_ALERT_CHAT_ID must be a Telegram chat id (an integer); got {alert!r}."
            )
        rate = _int(get("ANKOMMEN_RATE_LIMIT"), "ANKOMMEN_RATE_LIMIT", 20, 1, 10_000)
        flood = _int(get("TELEGRAM_FLOOD_LIMIT"), "TELEGRAM_FLOOD_LIMIT", 30, 0, 10_000)
        username = get("TELEGRAM_BOT_USERNAME")
        if username is not None:
            username = username.lstrip("@")
            if not re.fullmatch(r"[A-Za-z][A-Za-z0-9_]{3,31}", username):
                raise SettingsError(
                    f"TELEGRAM_BOT_USERNAME must be a bot username like AnkommenBot; got {username!r}."
                )
        try:
            cadence = parse_cadence(get("ANKOMMEN_STATUS_CADENCE") or "quarterly")
        except ValueError as exc:
            raise SettingsError(f"ANKOMMEN_STATUS_CADENCE: {exc}.") from None
        raw_time = get("ANKOMMEN_PROMPT_TIME") or "09:00"
        match = re.fullmatch(r"([01]?\d|2[0-3]):([0-5]\d)", raw_time)
        if match is None:
            raise SettingsError(f"ANKOMMEN_PROMPT_TIME must be a local time like 09:00; got {raw_time!r}.")
        reminder = _int(get("ANKOMMEN_REMINDER_DAYS"), "ANKOMMEN_REMINDER_DAYS", 7, 1, 365)
        escalation = _int(get("ANKOMMEN_ESCALATION_DAYS"), "ANKOMMEN_ESCALATION_DAYS", 14, 1, 365)
        if escalation <= reminder:
            raise SettingsError(
                "ANKOMMEN_ESCALATION_DAYS must be more than ANKOMMEN_REMINDER_DAYS "
                f"(the reminder comes first); got {escalation} and {reminder}."
            )
        nl_rate = _int(get("ANKOMMEN_NEWSLETTER_RATE"), "ANKOMMEN_NEWSLETTER_RATE", 25, 1, 10_000)
        missing = (get("ANKOMMEN_NEWSLETTER_MISSING_LANGUAGE") or "german").lower()
        if missing not in ("german", "skip"):
            raise SettingsError(
                f"ANKOMMEN_NEWSLETTER_MISSING_LANGUAGE must be german or skip; got {missing!r}."
            )
        hold = _int(get("ANKOMMEN_NEWSLETTER_HOLD_HOURS"), "ANKOMMEN_NEWSLETTER_HOLD_HOURS", 6, 0, 24 * 30)
        lease = _int(get("ANKOMMEN_NEWSLETTER_LEASE"), "ANKOMMEN_NEWSLETTER_LEASE", 10, 2, 3600)
        leader_check = _int(get("ANKOMMEN_LEADER_CHECK_SECONDS"), "ANKOMMEN_LEADER_CHECK_SECONDS", 5, 1, 300)
        busy_raw = get("ANKOMMEN_DB_BUSY_TIMEOUT")
        try:
            busy = 10.0 if busy_raw is None else float(busy_raw)
        except ValueError:
            busy = -1.0
        if not 0 < busy <= 300:
            raise SettingsError(
                f"ANKOMMEN_DB_BUSY_TIMEOUT must be seconds, more than 0 and at most 300; got {busy_raw!r}."
            )
        raw_now = get("ANKOMMEN_NOW")
        now = None
        if raw_now is not None:
            from bot.clock import parse_moment

            try:
                now = parse_moment(raw_now)
            except ValueError:
                raise SettingsError(
                    f"ANKOMMEN_NOW must be an ISO 8601 time like 2026-12-24T10:00+01:00; got {raw_now!r}."
                ) from None
        return cls(
            database_url=database_url,
            telegram_bot_token=token,
            telegram_api_base_url=base_url,
            default_language=language,
            timezone=timezone,
            data_dir=data_dir,
            log_level=log_level,
            webhook_url=webhook_url,
            webhook_listen=get("WEBHOOK_LISTEN") or "0.0.0.0",
            webhook_port=webhook_port,
            webhook_secret=webhook_secret,
            alert_chat_id=int(alert) if alert is not None else None,
            rate_limit_per_minute=rate,
            flood_limit=float(flood),
            bot_username=username,
            status_cadence_months=cadence,
            prompt_time=time(int(match.group(1)), int(match.group(2))),
            reminder_days=reminder,
            escalation_days=escalation,
            correction_hours=_int(
                get("ANKOMMEN_CORRECTION_HOURS"), "ANKOMMEN_CORRECTION_HOURS", 48, 0, 24 * 90
            ),
            invite_days=_int(get("ANKOMMEN_INVITE_DAYS"), "ANKOMMEN_INVITE_DAYS", 14, 1, 365),
            newsletter_rate=nl_rate,
            newsletter_missing_language=missing,
            newsletter_hold_hours=hold,
            newsletter_lease=lease,
            leader_check_seconds=leader_check,
            db_busy_timeout=busy,
            now=now,
        )


def _int(raw: str | None, name: str, default: int, low: int, high: int) -> int:
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        value = low - 1
    if not low <= value <= high:
        raise SettingsError(f"{name} must be a whole number from {low} to {high}; got {raw!r}.")
    return value


def _database_url(raw: str | None, state_dir: Path) -> str:
    if raw is None:
        return f"sqlite:///{(state_dir / 'ankommen.db').resolve()}"
    scheme = raw.split(":", 1)[0].lower()
    if scheme in ("postgres", "postgresql"):
        # psycopg 3 is the driver we ship.
        return "postgresql+psycopg:" + raw.split(":", 1)[1]
    if scheme in ("postgresql+psycopg", "sqlite"):
        return raw
    raise SettingsError(
        "DATABASE_URL must start with postgresql:// (PostgreSQL) or sqlite:/// (a SQLite file); "
        f"got a URL with scheme {scheme!r}."
    )
