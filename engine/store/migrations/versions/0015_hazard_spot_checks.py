"""spot checks of key hazard points (issue #8, §9.3): a spot check samples events or hazard points; a finding
names one or the other

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-05
"""
from alembic import op
import sqlalchemy as sa

revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('spot_check', sa.Column('kind', sa.String(10), nullable=False, server_default='events'))
    with op.batch_alter_table('spot_check_finding') as batch:
        batch.alter_column('event_id', existing_type=sa.Integer(), nullable=True)
        batch.add_column(sa.Column('hazard_id', sa.Integer(), nullable=True))
        batch.create_foreign_key('fk_spot_check_finding_hazard', 'hazard_point', ['hazard_id'], ['id'])
        batch.create_unique_constraint('uq_spot_check_finding_hazard', ['spot_check_id', 'hazard_id'])


def downgrade() -> None:
    with op.batch_alter_table('spot_check_finding') as batch:
        batch.drop_constraint('fk_spot_check_finding_hazard', type_='foreignkey')
        batch.drop_constraint('uq_spot_check_finding_hazard', type_='unique')
        batch.drop_column('hazard_id')
        batch.alter_column('event_id', existing_type=sa.Integer(), nullable=False)
    with op.batch_alter_table('spot_check') as batch:
        batch.drop_column('kind')
