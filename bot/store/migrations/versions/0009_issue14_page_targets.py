"""page targets: whom each page addressed, so an ack acknowledges only that person's

Revision ID: 0009_issue14
Revises: 0008
Create Date: 2026-12-01 16:30:00.000000
"""

import sqlalchemy as sa

from alembic import op


revision = '0009_issue14'
down_revision = '0009_issue13'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Nullable: a page recorded before kept no targets; anyone may acknowledge it.
    with op.batch_alter_table('page', schema=None) as batch_op:
        batch_op.add_column(sa.Column('targets', sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('page', schema=None) as batch_op:
        batch_op.drop_column('targets')
