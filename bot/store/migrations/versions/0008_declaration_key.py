"""declaration key: one incident per declare modal

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01 14:38:15.893343
"""

import sqlalchemy as sa
import sqlmodel

from alembic import op


revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Nullable: incidents declared before, and by command, have no modal to key them by.
    with op.batch_alter_table('incident', schema=None) as batch_op:
        batch_op.add_column(
            sa.Column('declaration_key', sqlmodel.sql.sqltypes.AutoString(), nullable=True)
        )
        batch_op.create_index(
            batch_op.f('ix_incident_declaration_key'), ['declaration_key'], unique=True
        )


def downgrade() -> None:
    with op.batch_alter_table('incident', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_incident_declaration_key'))
        batch_op.drop_column('declaration_key')
