"""drills: an incident may be a practice one

Revision ID: 0009_issue15b
Revises: 0008
Create Date: 2026-12-01 16:25:00.000000
"""

import sqlalchemy as sa

from alembic import op


revision = '0009_issue15b'
down_revision = '0009_issue15a'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Every incident declared before was a real one.
    with op.batch_alter_table('incident', schema=None) as batch_op:
        batch_op.add_column(
            sa.Column('drill', sa.Boolean(), server_default=sa.false(), nullable=False)
        )


def downgrade() -> None:
    with op.batch_alter_table('incident', schema=None) as batch_op:
        batch_op.drop_column('drill')
