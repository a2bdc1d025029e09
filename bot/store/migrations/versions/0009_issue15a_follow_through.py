"""follow-through steps and action items (issue 15 part A)

Revision ID: 0009_issue15a
Revises: 0008
Create Date: 2026-12-01 16:30:00.000000
"""

import sqlalchemy as sa
import sqlmodel

import bot.store.types
from alembic import op


revision = '0009_issue15a'
down_revision = '0009_issue16'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Incidents stored so far have no action items.
    with op.batch_alter_table('incident', schema=None) as batch_op:
        batch_op.add_column(
            sa.Column('action_items', sa.Integer(), server_default='0', nullable=False)
        )
    op.create_table('follow_up',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('incident_id', sa.Integer(), nullable=False),
    sa.Column('step', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('reminders', sa.Integer(), nullable=False),
    sa.Column('last_reminded_at', bot.store.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('snoozed_until', bot.store.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('done_at', bot.store.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('done_by', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.ForeignKeyConstraint(['incident_id'], ['incident.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('incident_id', 'step', name='uq_follow_up_step')
    )
    with op.batch_alter_table('follow_up', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_follow_up_incident_id'), ['incident_id'], unique=False)

    op.create_table('action_item',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('incident_id', sa.Integer(), nullable=False),
    sa.Column('text', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('owner_id', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('due_at', bot.store.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('created_by', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('created_at', bot.store.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('reminded_at', bot.store.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('done_at', bot.store.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('done_by', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('tracker', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('tracker_state', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('tracker_url', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('tracker_error', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.ForeignKeyConstraint(['incident_id'], ['incident.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('action_item', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_action_item_incident_id'), ['incident_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_action_item_owner_id'), ['owner_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('action_item', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_action_item_owner_id'))
        batch_op.drop_index(batch_op.f('ix_action_item_incident_id'))
    op.drop_table('action_item')
    with op.batch_alter_table('follow_up', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_follow_up_incident_id'))
    op.drop_table('follow_up')
    with op.batch_alter_table('incident', schema=None) as batch_op:
        batch_op.drop_column('action_items')
