"""declarations accepted after the ack

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-23 10:40:00.000000
"""

import sqlalchemy as sa

from alembic import op


revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Every incident stored so far was accepted in the transaction that declared it.
    with op.batch_alter_table('incident', schema=None) as batch_op:
        batch_op.add_column(
            sa.Column('accepted', sa.Boolean(), server_default=sa.true(), nullable=False)
        )
        batch_op.create_index(batch_op.f('ix_incident_accepted'), ['accepted'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('incident', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_incident_accepted'))
        batch_op.drop_column('accepted')
