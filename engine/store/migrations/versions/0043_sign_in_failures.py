"""Sign-in throttling (issue #17, safe by default): each refused sign-in is kept, with the name tried and the
client it came from, for the throttle's window (engine/accounts/sign_in.py).

Revision ID: 0043
Revises: 0042
Create Date: 2026-12-07
"""
import sqlalchemy as sa
from alembic import op

revision = '0043'
down_revision = '0042'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('sign_in_failure',
                    sa.Column('id', sa.Integer(), nullable=False),
                    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
                    sa.Column('username', sa.String(100), nullable=False),
                    sa.Column('client', sa.String(64), nullable=False),
                    sa.PrimaryKeyConstraint('id'))
    op.create_index('ix_sign_in_failure_client_at', 'sign_in_failure', ['client', 'at'])
    op.create_index('ix_sign_in_failure_at', 'sign_in_failure', ['at'])


def downgrade() -> None:
    op.drop_index('ix_sign_in_failure_at', table_name='sign_in_failure')
    op.drop_index('ix_sign_in_failure_client_at', table_name='sign_in_failure')
    op.drop_table('sign_in_failure')
