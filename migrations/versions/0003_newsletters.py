"""newsletters: issue images and timestamps, outbox leases and indexes

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

import bot.models

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("newsletter_issue", schema=None) as batch_op:
        batch_op.add_column(sa.Column("image", sa.LargeBinary(), nullable=True))
        batch_op.add_column(sa.Column("image_name", sqlmodel.sql.sqltypes.AutoString(length=128), nullable=True))
        batch_op.add_column(sa.Column("started_at", bot.models.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("finished_at", bot.models.UTCDateTime(timezone=True), nullable=True))
    with op.batch_alter_table("delivery", schema=None) as batch_op:
        batch_op.add_column(sa.Column("worker", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True))
        batch_op.create_index("ix_delivery_issue_state", ["issue_id", "state"], unique=False)
        batch_op.create_index("ix_delivery_chat_id", ["chat_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("delivery", schema=None) as batch_op:
        batch_op.drop_index("ix_delivery_chat_id")
        batch_op.drop_index("ix_delivery_issue_state")
        batch_op.drop_column("worker")
    with op.batch_alter_table("newsletter_issue", schema=None) as batch_op:
        batch_op.drop_column("finished_at")
        batch_op.drop_column("started_at")
        batch_op.drop_column("image_name")
        batch_op.drop_column("image")
