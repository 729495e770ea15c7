"""The console drives the same router as Telegram: a resident's questions, and a staff member's
whole answer (link, /mymeasures, status, save), on a real SQLite store."""

from __future__ import annotations

import io

from sqlmodel import Session, select

from bot.cli.console import CONSOLE_USER, ConsoleChat
from bot.cli.wiring import open_core
from bot.models import StatusReport
from bot.residents.ports import MemoryPreferences
from bot.settings import Settings
from tests.support import stores


def press(chat: ConsoleChat, label_part: str):
    """Type the number of the button whose label holds ``label_part``."""
    [number] = [str(i) for i, b in enumerate(chat.buttons, 1) if label_part in b.label]
    return chat.handle(number)


def test_a_staff_member_answers_a_status_request_in_the_console(tmp_path, sqlite_template):
    stores.copy_sqlite(sqlite_template.where, tmp_path / "ankommen.db")  # migrated and imported
    core = open_core(Settings.from_env({"ANKOMMEN_STATE_DIR": str(tmp_path)}))
    directory = core.staff_directory()
    member = directory.add("Anna", "Sozial- und Wohnungsamt", language="en")
    directory.assign(member.id, ["4.14"])
    code = directory.invite(member.id)
    out = io.StringIO()
    chat = ConsoleChat(core.conversation(core.dialogue(MemoryPreferences())), out=out, color=False)

    [welcome] = chat.handle(f"/start {code}")
    assert "Anna" in welcome.html and directory.by_chat(CONSOLE_USER).id == member.id
    chat.show(chat.handle("/mymeasures"))
    chat.show(press(chat, "4.14"))  # report on 4.14: the status buttons
    chat.show(press(chat, "on track"))
    [saved] = press(chat, "Save")
    with Session(core.engine) as s:
        [report] = s.exec(select(StatusReport)).all()
    assert (report.measure_number, report.status, report.staff_id) == ("4.14", "on_track", member.id)
    assert "4.14" in saved.html

    chat.show(chat.handle("/language"))
    chat.show(press(chat, "English"))
    chat.show(chat.handle("/delete"))
    chat.show(press(chat, "Yes"))
    assert directory.by_chat(CONSOLE_USER) is None  # the console's staff link is gone with /delete
    core.engine.dispose()
