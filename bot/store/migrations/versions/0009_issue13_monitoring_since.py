"""monitoring since, roles with several holders (issue 13)

incident.monitoring_since: when the incident entered its monitoring status; a role may
have several holders (participant unique per incident, role and user).

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
    with op.batch_alter_table('participant', schema=None) as batch_op:
        batch_op.drop_constraint('uq_participant_role', type_='unique')
        batch_op.create_unique_constraint(
            'uq_participant_role_user', ['incident_id', 'role', 'user_id']
        )


def downgrade() -> None:
    # Back to one holder a role: the first assigned is kept.
    op.execute(
        "DELETE FROM participant WHERE id NOT IN "
        "(SELECT MIN(id) FROM participant GROUP BY incident_id, role)"
    )
    with op.batch_alter_table('participant', schema=None) as batch_op:
        batch_op.drop_constraint('uq_participant_role_user', type_='unique')
        batch_op.create_unique_constraint('uq_participant_role', ['incident_id', 'role'])
    with op.batch_alter_table('incident', schema=None) as batch_op:
        batch_op.drop_column('monitoring_since')
