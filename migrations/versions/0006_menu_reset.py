"""staff command menus still to be removed from Telegram

Hardening: ``staff remove``, a staff link moved to another chat and a staff member's /delete
leave a command menu in that chat until deleteMyCommands has run for it.

Revision ID: 0006
Revises: 0005
"""
from alembic import op
import sqlalchemy as sa
import bot.models


revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('menu_reset',
    sa.Column('chat_id', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('created_at', bot.models.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('chat_id')
    )


def downgrade() -> None:
    op.drop_table('menu_reset')
