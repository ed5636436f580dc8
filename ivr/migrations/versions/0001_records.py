"""call records and shared menu revisions

Revision ID: 0001
Revises: (none: the first)
Create Date: 2026-12-03
"""

import sqlalchemy as sa
from alembic import op

revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('calls',
    sa.Column('key', sa.String(length=24), nullable=False),
    sa.Column('started_at', sa.DateTime(), nullable=True),
    sa.Column('last_at', sa.DateTime(), nullable=False),
    sa.Column('caller', sa.String(length=12), nullable=True),
    sa.Column('lang', sa.String(length=8), nullable=False),
    sa.Column('revision', sa.String(length=80), nullable=False),
    sa.Column('last_node', sa.String(length=80), nullable=False),
    sa.Column('outcome', sa.String(length=16), nullable=True),
    sa.Column('desk', sa.String(length=80), nullable=True),
    sa.Column('points_check', sa.Boolean(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=True),
    sa.Column('duration', sa.Integer(), nullable=True),
    sa.Column('ended_at', sa.DateTime(), nullable=True),
    sa.PrimaryKeyConstraint('key')
    )
    with op.batch_alter_table('calls', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_calls_started_at'), ['started_at'], unique=False)

    op.create_table('menu_pointers',
    sa.Column('menu', sa.String(length=200), nullable=False),
    sa.Column('digest', sa.String(length=8), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('menu')
    )
    op.create_table('menu_revisions',
    sa.Column('menu', sa.String(length=200), nullable=False),
    sa.Column('digest', sa.String(length=8), nullable=False),
    sa.Column('revision', sa.String(length=80), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('saved_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('menu', 'digest')
    )
    op.create_table('steps',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('call_key', sa.String(length=24), nullable=False),
    sa.Column('at', sa.DateTime(), nullable=False),
    sa.Column('n', sa.Integer(), nullable=False),
    sa.Column('node', sa.String(length=80), nullable=False),
    sa.Column('kind', sa.String(length=8), nullable=False),
    sa.Column('meant', sa.String(length=16), nullable=True),
    sa.Column('key', sa.String(length=8), nullable=True),
    sa.Column('via', sa.String(length=8), nullable=True),
    sa.Column('detail', sa.String(length=16), nullable=True),
    sa.Column('points', sa.Integer(), nullable=True),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('steps', schema=None) as batch_op:
        batch_op.create_index('ix_steps_at', ['at'], unique=False)
        batch_op.create_index('ix_steps_call', ['call_key', 'at', 'n'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('steps', schema=None) as batch_op:
        batch_op.drop_index('ix_steps_call')
        batch_op.drop_index('ix_steps_at')

    op.drop_table('steps')
    op.drop_table('menu_revisions')
    op.drop_table('menu_pointers')
    with op.batch_alter_table('calls', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_calls_started_at'))

    op.drop_table('calls')
