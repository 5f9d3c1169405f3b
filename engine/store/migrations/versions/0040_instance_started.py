"""bytes per closed event (issue #17: at most 6 KB, bench/storage.py): an instance keeps when and by whom it
started, and the event's timeline reads 流程启动 from it (engine/pool/reading.py); the trail no longer writes a
`process_started` row for it. Instances started before keep their row and no start of their own (None).

Revision ID: 0040
Revises: 0039
Create Date: 2026-12-06
"""
import sqlalchemy as sa
from alembic import op

revision = '0040'
down_revision = '0039'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('process_instance', sa.Column('started_at', sa.DateTime(timezone=True), nullable=True))
    op.add_column('process_instance', sa.Column('started_by', sa.String(100), nullable=True))


def downgrade() -> None:
    # the starts go back into the trail, where the code before read them (after the rows kept meanwhile)
    bind = op.get_bind()
    said = ("json_build_object('process', v.process_key, 'version', v.version)" if bind.dialect.name == "postgresql"
            else "json_object('process', v.process_key, 'version', v.version)")
    op.execute("INSERT INTO audit (at, actor, action, event_id, instance_id, data) "
               f"SELECT i.started_at, i.started_by, 'process_started', i.event_id, i.id, {said} "
               "FROM process_instance i JOIN process_version v ON v.id = i.version_id "
               "WHERE i.started_at IS NOT NULL ORDER BY i.id")
    with op.batch_alter_table('process_instance') as batch:
        batch.drop_column('started_by')
        batch.drop_column('started_at')
