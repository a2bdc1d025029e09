"""status page: components per publication, the publish reminder's clock

Revision ID: 0009_issue16
Revises: 0008
Create Date: 2026-12-01 16:30:00.000000
"""

import sqlalchemy as sa

import bot.store.types
from alembic import op


revision = '0009_issue16'
down_revision = '0009_issue14'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Nullable: incidents and publications from before have neither.
    with op.batch_alter_table('incident', schema=None) as batch_op:
        batch_op.add_column(
            sa.Column('first_published_at', bot.store.types.UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(
            sa.Column('last_publish_nag_at', bot.store.types.UTCDateTime(timezone=True), nullable=True)
        )
    with op.batch_alter_table('publication', schema=None) as batch_op:
        batch_op.add_column(sa.Column('components', sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('publication', schema=None) as batch_op:
        batch_op.drop_column('components')
    with op.batch_alter_table('incident', schema=None) as batch_op:
        batch_op.drop_column('last_publish_nag_at')
        batch_op.drop_column('first_published_at')
