"""on-call overrides set by command

Revision ID: 0009_issue17
Revises: 0009_issue14
Create Date: 2026-12-01 16:50:00.000000
"""

import sqlalchemy as sa
import sqlmodel

from alembic import op
from bot.store.types import UTCDateTime


revision = '0009_issue17'
down_revision = '0009_issue15b'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'oncall_override',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('schedule', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column('layer', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column('user_id', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column('start_at', UTCDateTime(timezone=True), nullable=False),
        sa.Column('end_at', UTCDateTime(timezone=True), nullable=False),
        sa.Column('created_by', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column('created_at', UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('id'),
    )
    with op.batch_alter_table('oncall_override', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_oncall_override_schedule'), ['schedule'], unique=False)
        batch_op.create_index(batch_op.f('ix_oncall_override_end_at'), ['end_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('oncall_override', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_oncall_override_end_at'))
        batch_op.drop_index(batch_op.f('ix_oncall_override_schedule'))
    op.drop_table('oncall_override')
