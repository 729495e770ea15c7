"""referral answers among the gaps, safety cards counted per topic and day

Issue 12: questions answered by a referral are kept (scrubbed, without a user id) with their
topic, so editors see the demand; crisis messages are never stored, only counted; a
translation made from an older German text is marked outdated.

Revision ID: 0008
Revises: 0007
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel


revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('translation') as batch:
        batch.add_column(sa.Column('outdated', sa.Boolean(), nullable=False, server_default=sa.false()))
    with op.batch_alter_table('gap') as batch:
        batch.add_column(sa.Column('topic', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True))
        batch.create_index('ix_gap_topic', ['topic'], unique=False)
    op.create_table('safety_count',
    sa.Column('topic', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('count', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('topic', 'day')
    )


def downgrade() -> None:
    op.drop_table('safety_count')
    with op.batch_alter_table('gap') as batch:
        batch.drop_index('ix_gap_topic')
        batch.drop_column('topic')
    with op.batch_alter_table('translation') as batch:
        batch.drop_column('outdated')
