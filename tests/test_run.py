"""``ankommen run`` as a real process against the loopback Bot API: polling, webhook with its
secret token, graceful shutdown on SIGTERM, and no token or message text in the logs."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request

import pytest

from bot import paths
from tests.botapi import FakeBotApi
from tests.helpers import ankommen_exe, wait_until


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _start(api: FakeBotApi, tmp_path, **extra) -> tuple[subprocess.Popen, object]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("ANKOMMEN_", "TELEGRAM_", "DATABASE_URL", "WEBHOOK_"))
    }
    env.update(
        TELEGRAM_BOT_TOKEN=api.token,
        TELEGRAM_API_BASE_URL=api.base_url,
        ANKOMMEN_STATE_DIR=str(tmp_path),
        ANKOMMEN_LOG_LEVEL="DEBUG",
        **extra,
    )
    log = (tmp_path / "bot.log").open("wb")
    proc = subprocess.Popen(
        [*ankommen_exe(), "run"], env=env, cwd=paths.PROJECT_ROOT, stdout=log, stderr=subprocess.STDOUT
    )
    return proc, log


def _stop(proc: subprocess.Popen) -> int:
    proc.send_signal(signal.SIGTERM)
    return proc.wait(30)


def _wait(predicate, timeout=30.0):
    return wait_until(predicate, timeout)


def test_polling_answers_and_stops_gracefully(tmp_path):
    with FakeBotApi() as api:
        proc, log = _start(api, tmp_path)
        try:
            assert _wait(lambda: "getUpdates" in api.methods_seen), (tmp_path / "bot.log").read_text()
            secret_question = "Mein Vermieter will mich rauswerfen, Telefon 0171 2345678"
            api.message(4711, secret_question)
            (reply,) = api.wait_for(1, chat_id=4711, timeout=20)
            assert "4.14" in reply.text
        finally:
            code = _stop(proc)
            log.close()
    assert code == 0
    text = (tmp_path / "bot.log").read_text()
    assert "serving Telegram by long polling" in text and "stopped" in text
    assert api.token not in text and api.token.split(":")[1] not in text
    assert "Vermieter" not in text and "2345678" not in text


def test_webhook_checks_the_secret_on_every_request(tmp_path):
    port = _free_port()
    with FakeBotApi() as api:
        proc, log = _start(
            api,
            tmp_path,
            WEBHOOK_URL="https://bot.example.org/telegram/hook",
            WEBHOOK_LISTEN="127.0.0.1",
            WEBHOOK_PORT=str(port),
            WEBHOOK_SECRET="s3cret-Token_1",
        )
        try:
            assert _wait(lambda: api.webhook_url), (tmp_path / "bot.log").read_text()
            assert api.webhook_url == "https://bot.example.org/telegram/hook"
            (set_hook,) = [s for s in api.sent if s.method == "setWebhook"]
            assert set_hook.params["secret_token"] == "s3cret-Token_1"  # Telegram sends it back
            update = {
                "update_id": 1,
                "message": {
                    "message_id": 1,
                    "date": int(time.time()),
                    "chat": {"id": 815, "type": "private"},
                    "from": {"id": 815, "is_bot": False, "first_name": "T", "language_code": "de"},
                    "text": "Sprachkurs",
                },
            }

            def post(secret: str | None) -> int:
                headers = {"Content-Type": "application/json"}
                if secret is not None:
                    headers["X-Telegram-Bot-Api-Secret-Token"] = secret
                req = urllib.request.Request(
                    f"http://127.0.0.1:{port}/telegram/hook",
                    data=json.dumps(update).encode(),
                    headers=headers,
                    method="POST",
                )
                try:
                    with urllib.request.urlopen(req, timeout=10) as resp:
                        return resp.status
                except urllib.error.HTTPError as exc:
                    return exc.code

            assert post(None) == 403
            assert post("wrong") == 403
            time.sleep(0.5)
            assert api.calls(chat_id=815) == []  # nothing was processed
            assert post("s3cret-Token_1") == 200
            (reply,) = api.wait_for(1, chat_id=815, timeout=20)
            assert reply.text
        finally:
            code = _stop(proc)
            log.close()
    assert code == 0
    assert "s3cret-Token_1" not in (tmp_path / "bot.log").read_text()


@pytest.mark.parametrize("value", ["http://insecure.example/hook", "not a url"])
def test_webhook_url_must_be_https(tmp_path, value):
    from tests.helpers import run_cli

    r = run_cli(
        "run", env={"TELEGRAM_BOT_TOKEN": "1:x", "WEBHOOK_URL": value, "ANKOMMEN_STATE_DIR": str(tmp_path)}
    )
    assert r.returncode == 2 and "WEBHOOK_URL" in r.stderr
