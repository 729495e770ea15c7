"""The markers ``postgres``, ``e2e`` and ``slow``, set from what a test uses, so that a new test
gets its markers without anyone thinking of them (an explicit ``@pytest.mark.…`` still works).

* ``postgres``: the test uses ``pg_url``, or runs on the ``postgres`` side of ``backend``
  (``any_url``, ``store``, ``store_url``).
* ``e2e``: the test, one of its fixtures, or a helper of the tests they call (followed through
  the names their code uses) starts a real process (``subprocess``, ``tests.helpers.run_cli`` /
  ``spawn_cli``) or the real long-polling ``Application`` (``tests.tgharness.PollingBot``).
* ``slow``: hypothesis tests, and the tests named in ``SLOW`` (over about 2 s in
  ``--durations`` on the 2-core CI machine, without being e2e).
"""

from __future__ import annotations

import inspect
import subprocess
import types

import pytest

from tests import helpers, tgharness

E2E_USES = (subprocess, helpers.run_cli, helpers.spawn_cli, tgharness.PollingBot)

# module -> test functions that take over about 2 s and are neither e2e nor hypothesis tests.
SLOW = {
    "test_faults_botapi": {
        "test_a_send_that_certainly_did_not_arrive_is_retried_and_arrives_once",
        "test_a_send_that_may_have_arrived_is_not_repeated",
        "test_idempotent_calls_are_retried_through_every_fault",
        "test_the_outbox_delivers_once_through_every_fault",
    },
    "test_faults_store": {
        "test_an_outbox_run_that_lost_the_store_leaves_no_lease_renewed_for_ever",
        "test_sqlite_locked_for_too_long_gets_one_line_in_the_users_language_and_changes_nothing",
        "test_postgres_terminated_while_the_outbox_delivers_loses_and_repeats_nothing",
        "test_postgres_terminated_while_a_resident_subscribes_and_a_status_answer_is_saved",
    },
    "test_honest": {
        "test_a_crisis_is_never_stored_as_a_gap_only_counted",
        "test_a_referral_is_honest_names_the_counselling_and_is_counted_for_editors",
        "test_the_development_set_meets_its_bars",  # the whole development set, every language
    },
    "test_newsletter_split": {
        "test_a_long_issue_with_many_links_reaches_every_language_whole",
        "test_the_preview_shows_the_parts_subscribers_get",
    },
    "test_hostile": {"test_hostile_input_on_every_entry_point"},
    "test_scaleout": {"test_wrong_invitation_codes_count_across_instances"},
    "test_hardening": {"test_the_flood_limiter_pauses_whom_telegram_limited"},
    "test_staff": {"test_the_status_tick_never_blocks_the_event_loop"},  # holds a lock 1.5 s
    "test_newsletters": {
        "test_errors_block_deactivate_and_never_resend_unknown_outcomes",
        "test_two_workers_share_the_outbox_without_duplicates",
        "test_paced_below_the_servers_limit_and_one_per_second_per_chat",
        "test_the_loopback_server_enforces_its_limits",
    },
}


def _is_hypothesis(func) -> bool:
    return bool(getattr(func, "is_hypothesis_test", False))


def _codes(code: types.CodeType):
    yield code
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            yield from _codes(const)


def _functions_of(obj):
    """The plain functions behind ``obj`` (a function, a hypothesis test, a class's methods)."""
    if inspect.isclass(obj):
        for value in vars(obj).values():
            yield from _functions_of(getattr(value, "__func__", value))
        return
    hyp = getattr(obj, "hypothesis", None)
    obj = getattr(hyp, "inner_test", obj)
    obj = inspect.unwrap(obj)
    if inspect.isfunction(obj):
        yield obj


def reaches(obj, uses=E2E_USES, _seen: set[int] | None = None) -> bool:
    """Whether the code of ``obj``, or of the test helpers it names, names one of ``uses``."""
    seen = set() if _seen is None else _seen
    for func in _functions_of(obj):
        if id(func) in seen:
            continue
        seen.add(id(func))
        names = {n for code in _codes(func.__code__) for n in code.co_names}
        for name in names:
            target = func.__globals__.get(name)
            if target is None:
                continue
            # ``staff.world(...)``: a module's attribute is one of the names too.
            targets = [target]
            if inspect.ismodule(target):
                targets += [getattr(target, n, None) for n in names]
            for obj in targets:
                if obj is None:
                    continue
                if any(obj is use for use in uses):
                    return True
                if (getattr(obj, "__module__", None) or "").startswith("tests.") and reaches(obj, uses, seen):
                    return True
    return False


_E2E: dict[object, bool] = {}


def _e2e(obj) -> bool:
    if obj not in _E2E:
        _E2E[obj] = reaches(obj)
    return _E2E[obj]


def _fixture_functions(item):
    info = getattr(item, "_fixtureinfo", None)
    for name in item.fixturenames:
        defs = info.name2fixturedefs.get(name) if info else None
        if defs:
            yield defs[-1].func


def _uses_postgres(item) -> bool:
    params = getattr(getattr(item, "callspec", None), "params", {})
    return "pg_url" in item.fixturenames or params.get("backend") == "postgres"


def mark(items) -> None:
    for item in items:
        if not isinstance(item, pytest.Function):
            continue
        if _uses_postgres(item):
            item.add_marker(pytest.mark.postgres)
        if _e2e(item.obj) or any(_e2e(f) for f in _fixture_functions(item)):
            item.add_marker(pytest.mark.e2e)
        module = item.module.__name__.rsplit(".", 1)[-1]
        if _is_hypothesis(item.obj) or item.originalname in SLOW.get(module, ()):
            item.add_marker(pytest.mark.slow)
