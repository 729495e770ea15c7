"""state shared by instances: newsletter composing, throttled wrong invitation codes

Issue 7: several instances behind a load balancer, any of which may take a chat's next update.

Revision ID: 0005
Revises: 0004
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel
import bot.models


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('newsletter_compose',
    sa.Column('chat_id', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('newsletter', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('started_at', bot.models.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('chat_id')
    )
    op.create_table('throttle_event',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('key', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('at', bot.models.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_throttle_event_key_at', 'throttle_event', ['key', 'at'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_throttle_event_key_at', table_name='throttle_event')
    op.drop_table('throttle_event')
    op.drop_table('newsletter_compose')
