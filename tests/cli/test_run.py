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
            update = _text_update(1, 815, "Sprachkurs")

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


def _rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as fh:
        line = next(line for line in fh if line.startswith("VmRSS:"))
    return int(line.split()[1]) / 1024


def _text_update(update_id: int, chat_id: int, text: str) -> dict:
    """A private text message as Telegram posts it to a webhook."""
    return {
        "update_id": update_id,
        "message": {
            "message_id": 1,
            "date": int(time.time()),
            "chat": {"id": chat_id, "type": "private"},
            "from": {"id": chat_id, "is_bot": False, "first_name": "T", "language_code": "de"},
            "text": text,
        },
    }


def _hook_headers(secret: str, body_header: str) -> bytes:
    """A webhook POST's request line and headers, with ``body_header`` announcing the body."""
    return (
        "POST /telegram/hook HTTP/1.1\r\nHost: bot\r\nContent-Type: application/json\r\n"
        f"X-Telegram-Bot-Api-Secret-Token: {secret}\r\n{body_header}\r\n\r\n"
    ).encode()


def _head_only(port: int, secret: str, length: int) -> bytes:
    """Send a webhook request's headers, announcing ``length`` bytes of body, and none of it;
    what the server answers (b"" when it closes the connection) within 5 s."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        s.sendall(_hook_headers(secret, f"Content-Length: {length}"))
        try:
            return s.recv(200)
        except ConnectionResetError:
            return b""


def _chunked_flood(port: int, secret: str, megabytes: int) -> None:
    """A chunked body of ``megabytes``, sent until the server stops reading it."""
    chunk = b"1" * 65536
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(_hook_headers(secret, "Transfer-Encoding: chunked"))
        try:
            for _ in range(megabytes * 16):
                s.sendall(b"10000\r\n" + chunk + b"\r\n")
        except OSError:
            pass  # the server closed the connection: what the test wants


def test_webhook_checks_the_secret_before_the_body_and_caps_the_body(tmp_path):
    """Finding 19: PTB's server read every body whole (up to 100 MB) before the secret check."""
    import threading

    port = _free_port()
    secret = "s3cret-Token_1"
    with FakeBotApi() as api:
        proc, log = _start(
            api,
            tmp_path,
            WEBHOOK_URL="https://bot.example.org/telegram/hook",
            WEBHOOK_LISTEN="127.0.0.1",
            WEBHOOK_PORT=str(port),
            WEBHOOK_SECRET=secret,
        )
        try:
            assert _wait(lambda: api.webhook_url), (tmp_path / "bot.log").read_text()
            time.sleep(1.0)
            before = _rss_mb(proc.pid)
            # A wrong secret is refused at once, with no byte of the 90 MB body read …
            assert _head_only(port, "wrong", 90 * 2**20).startswith(b"HTTP/1.1 403")
            # … and with the right one, a body over 1 MiB is refused before it is read.
            answer = _head_only(port, secret, 90 * 2**20)
            assert answer == b"" or answer.startswith((b"HTTP/1.1 400", b"HTTP/1.1 413"))
            floods = [threading.Thread(target=_chunked_flood, args=(port, secret, 60)) for _ in range(8)]
            for t in floods:
                t.start()
            for t in floods:
                t.join(60)
            assert _rss_mb(proc.pid) - before < 40  # 8 x 60 MB sent, at most 1 MiB each read
            # Telegram's updates still arrive.
            update = _text_update(9, 816, "Sprachkurs")
            req = urllib.request.Request(
                f"http://127.0.0.1:{port}/telegram/hook",
                data=json.dumps(update).encode(),
                headers={"Content-Type": "application/json", "X-Telegram-Bot-Api-Secret-Token": secret},
                method="POST",
            )
            with urllib.request.urlopen(req, timeout=10) as resp:
                assert resp.status == 200
            assert api.wait_for(1, chat_id=816, timeout=20)
        finally:
            code = _stop(proc)
            log.close()
    assert code == 0
    assert secret not in (tmp_path / "bot.log").read_text()


def test_the_bot_serves_while_the_command_menu_is_refused_and_sets_it_later(tmp_path):
    """Finding 6: one 400 on one ``setMyCommands`` call, or a 502 that does not go away, made
    ``ankommen run`` exit 1 at start. The menu is cosmetic: the bot serves, retries it later."""
    with FakeBotApi() as api:
        api.inject(
            "refuse",
            method="setMyCommands",
            params={"language_code": "uk"},
            description="Bad Request: BOT_COMMAND_DESCRIPTION_INVALID",
        )
        api.inject("proxy", status=502, method="setMyCommands", params={"language_code": None})
        proc, log = _start(api, tmp_path)
        try:
            assert _wait(lambda: "getUpdates" in api.methods_seen), (tmp_path / "bot.log").read_text()
            api.message(4712, "Sprachkurs für meine Mutter")
            (reply,) = api.wait_for(1, chat_id=4712, timeout=20)
            assert reply.text and proc.poll() is None
            assert _wait(lambda: "vi" in api.commands, timeout=20)  # the last language of a round
            assert "uk" not in api.commands and "" not in api.commands and proc.poll() is None
            api.heal()
            assert _wait(lambda: {"", "uk"} <= set(api.commands), timeout=40), (
                tmp_path / "bot.log"
            ).read_text()
            assert len(api.commands) == 11
        finally:
            code = _stop(proc)
            log.close()
    assert code == 0
    text = (tmp_path / "bot.log").read_text()
    assert "setMyCommands (uk) failed: BadRequest" in text and "Sprachkurs" not in text
