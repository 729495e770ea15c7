"""Claiming scheduled work: one statement that takes up to ``limit`` rows no other worker holds.

Every kind of scheduled work (status prompts, reminders, escalations, newsletter deliveries) is a
row that some worker must take exactly once, while any number of instances tick against one
store. :func:`claim_rows` is the one way they do it:

* **PostgreSQL:** ``WITH picked AS (SELECT id … ORDER BY id LIMIT n FOR UPDATE SKIP LOCKED)
  UPDATE … FROM picked … RETURNING``. Rows another worker is claiming at that moment are skipped,
  not waited for, so instances never queue behind each other. The CTE is evaluated once:
  PostgreSQL may re-run an ``IN (SELECT … LIMIT n)`` subquery and then update more than ``n``
  rows (found by ``test_two_workers_share_the_outbox``).
* **SQLite:** the same ``UPDATE … WHERE id IN (SELECT … LIMIT n) RETURNING``; one statement is
  atomic there (the database has one writer at a time).

The ``where`` conditions are repeated in the ``UPDATE``: a row that changed between the pick and
the write is left alone. What the claim writes (a state, a worker id, a lease, a timestamp) is
the caller's ``values``; a lease is a time after which another worker may take the row over.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection


def claim_rows(
    conn: Connection,
    table: sa.Table,
    where: Sequence[Any],
    values: dict[str, Any],
    returning: Sequence[Any],
    *,
    limit: int | None = None,
    order_by: Sequence[Any] = (),
    join: tuple[sa.Table, Any] | None = None,
    pick_where: Sequence[Any] = (),
) -> list[sa.Row]:
    """Claim up to ``limit`` rows of ``table`` matching ``where``; returns the ``returning`` columns.

    ``where`` speaks of ``table``'s own columns and is checked again by the ``UPDATE``; keep it to
    what can change between the pick and the write (a state). ``pick_where`` holds conditions
    only the pick checks: on ``table`` (which issues) or on ``join``, an optional (table,
    on-clause) (the outbox picks deliveries of issues that are being sent). Repeating an
    ``IN (…)`` of ``pick_where`` in the ``UPDATE`` made PostgreSQL plan it three times slower.
    Only ``table``'s rows are locked.
    """
    pick_from = table.alias("pick")
    # Conditions are written against ``table``; the pick reads them from its alias.
    adapt = sa.sql.util.ClauseAdapter(pick_from).traverse
    pick = sa.select(pick_from.c.id)
    if join is not None:
        other, on = join
        pick = pick.join(other, adapt(on))
    pick = pick.where(*(adapt(w) for w in pick_where))
    pick = pick.where(*(adapt(w) for w in where)).order_by(*(adapt(o) for o in order_by or (table.c.id,)))
    if limit is not None:
        pick = pick.limit(limit)
    if conn.dialect.name == "postgresql":
        picked = pick.with_for_update(skip_locked=True, of=pick_from).cte("picked")
        chosen = table.c.id == picked.c.id
    else:
        chosen = table.c.id.in_(pick.scalar_subquery())
    stmt = sa.update(table).where(chosen, *where).values(**values).returning(*returning)
    return list(conn.execute(stmt).all())
