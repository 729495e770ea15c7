"""a coordinator's buttons act only on the issues the bot showed them

newsletter_compose.offered: the previewed drafts and listed held issues a coordinator's "Send
now" / "Discard" buttons may act on; newsletter becomes optional (None: not composing).

Revision ID: 0007
Revises: 0006
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel


revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('newsletter_compose') as batch:
        batch.alter_column(
            'newsletter', existing_type=sqlmodel.sql.sqltypes.AutoString(length=16), nullable=True
        )
        batch.add_column(sa.Column('offered', sa.JSON(), nullable=True))


def downgrade() -> None:
    op.execute("DELETE FROM newsletter_compose WHERE newsletter IS NULL")
    with op.batch_alter_table('newsletter_compose') as batch:
        batch.drop_column('offered')
        batch.alter_column(
            'newsletter', existing_type=sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False
        )
