"""the live inbox (issue #18): `live_feed`, a row for each work item made or gone and each notification made,
written by triggers in the writer's own transaction (so nothing that makes work or a message, however it is
made, is missed); on PostgreSQL the trigger also sends NOTIFY eventflow_live, which the server delivers at
commit to every app node's listener (engine/store/wakeups.py). Identical notifications of one transaction
are delivered once: one wake per commit, however many rows it wrote.

Revision ID: 0029
Revises: 0028
Create Date: 2026-12-20
"""
import sqlalchemy as sa
from alembic import op

revision = '0029'
down_revision = '0028'
branch_labels = None
depends_on = None

#: the NOTIFY channel (engine/store/wakeups.py CHANNEL)
CHANNEL = 'eventflow_live'
COLUMNS = "kind, ref, event_id, role, assignee_kind, community, unit, person"


def _work(kind: str, row: str) -> str:
    """The values of a work item's feed row (`row`: NEW or OLD)."""
    return (f"'{kind}', {row}.id, {row}.event_id, {row}.role, {row}.assignee_kind, {row}.community, {row}.unit, "
            f"{row}.person")


#: a notification's feed row: to whom is the listing's to decide (engine/notices/inbox.py)
NOTICE = "'notice', CAST(NEW.id AS VARCHAR(36)), NEW.event_id, NULL, NULL, NULL, NULL, NULL"


def upgrade() -> None:
    op.create_table(
        'live_feed',
        sa.Column('id', sa.Integer(), primary_key=True),
        sa.Column('kind', sa.String(10), nullable=False),
        sa.Column('ref', sa.String(36), nullable=False),
        sa.Column('event_id', sa.Integer()),
        sa.Column('role', sa.String(40)),
        sa.Column('assignee_kind', sa.String(20)),
        sa.Column('community', sa.String(60)),
        sa.Column('unit', sa.String(60)),
        sa.Column('person', sa.String(100)),
        sqlite_autoincrement=True)
    if op.get_bind().dialect.name == 'postgresql':
        op.execute(f"""
CREATE FUNCTION live_feed_work() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'INSERT' THEN
    INSERT INTO live_feed ({COLUMNS}) VALUES ({_work('work', 'NEW')});
  ELSE
    INSERT INTO live_feed ({COLUMNS}) VALUES ({_work('done', 'OLD')});
  END IF;
  PERFORM pg_notify('{CHANNEL}', '');
  RETURN NULL;
END $$""")
        op.execute(f"""
CREATE FUNCTION live_feed_notice() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO live_feed ({COLUMNS}) VALUES ({NOTICE});
  PERFORM pg_notify('{CHANNEL}', '');
  RETURN NULL;
END $$""")
        op.execute("CREATE TRIGGER live_feed_work AFTER INSERT OR DELETE ON work_item "
                   "FOR EACH ROW EXECUTE FUNCTION live_feed_work()")
        op.execute("CREATE TRIGGER live_feed_notice AFTER INSERT ON notification "
                   "FOR EACH ROW EXECUTE FUNCTION live_feed_notice()")
    else:
        op.execute(f"CREATE TRIGGER live_feed_work AFTER INSERT ON work_item "
                   f"BEGIN INSERT INTO live_feed ({COLUMNS}) VALUES ({_work('work', 'NEW')}); END")
        op.execute(f"CREATE TRIGGER live_feed_done AFTER DELETE ON work_item "
                   f"BEGIN INSERT INTO live_feed ({COLUMNS}) VALUES ({_work('done', 'OLD')}); END")
        op.execute(f"CREATE TRIGGER live_feed_notice AFTER INSERT ON notification "
                   f"BEGIN INSERT INTO live_feed ({COLUMNS}) VALUES ({NOTICE}); END")


def downgrade() -> None:
    if op.get_bind().dialect.name == 'postgresql':
        op.execute("DROP TRIGGER live_feed_work ON work_item")
        op.execute("DROP TRIGGER live_feed_notice ON notification")
        op.execute("DROP FUNCTION live_feed_work()")
        op.execute("DROP FUNCTION live_feed_notice()")
    else:
        for name in ('work', 'done', 'notice'):
            op.execute(f"DROP TRIGGER live_feed_{name}")
    op.drop_table('live_feed')
