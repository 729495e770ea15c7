"""Staff onboarding and erasure, hardened: the real PTB Application (production wiring) against the
loopback Bot API server, with the CLI as a real process where the operator acts."""

from __future__ import annotations

import sqlalchemy as sa

from tests import test_staff_e2e
from tests.test_staff_e2e import say

world = test_staff_e2e.world  # the production wiring against the loopback server (a fixture)

RESIDENT, ANNA, MALLORY = 6101, 6102, 6103


def _throttle_count(core) -> int:
    with core.engine.connect() as conn:
        return conn.execute(sa.text("SELECT count(*) FROM throttle_event")).scalar_one()


# -- finding 12: a poster's deep link is a resident's /start -------------------------------------------
def test_a_deep_link_payload_that_is_no_invitation_gets_the_language_picker_and_is_not_counted(world):
    core, _clock, _desk, _loop, api, _settings = world
    de = core.translations.get("de").gettext
    for payload in ("plakat_wohnen", "sprachcafe_2026", "s" * 30, "sprechstunde-am-dienstag-1"):
        (reply,) = say(api, RESIDENT, f"/start {payload}")
        assert "L:de" in {d for _, d in reply.buttons}, reply.text  # the language picker
        assert de("Please choose your language.") in reply.text
    for _ in range(6):  # more than the 5 wrong codes an hour: still never refused
        (reply,) = say(api, RESIDENT, "/start sprachcafe")
    assert "L:de" in {d for _, d in reply.buttons}
    assert _throttle_count(core) == 0
    # A code-shaped payload is still an invitation code: wrong, so counted.
    (wrong,) = say(api, RESIDENT, "/start s" + "0" * 24)
    assert wrong.text == de(
        "This invitation code is not valid. Please check the link or ask a coordinator for a new one."
    )
    assert _throttle_count(core) == 1
