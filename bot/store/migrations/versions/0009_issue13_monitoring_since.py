"""monitoring since: when the incident entered its monitoring status (issue 13)

Revision ID: 0009_issue13
Revises: 0008
Create Date: 2026-12-01 16:40:00.000000
"""

import sqlalchemy as sa

from alembic import op

from bot.store.types import UTCDateTime


revision = '0009_issue13'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Nullable: an incident not monitoring (every incident before this) has none.
    with op.batch_alter_table('incident', schema=None) as batch_op:
        batch_op.add_column(sa.Column('monitoring_since', UTCDateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('incident', schema=None) as batch_op:
        batch_op.drop_column('monitoring_since')
