"""退回原因 and the city's ruling on a return (issue #19): `return_ruling`, one row for each return (its
`whistle_returned` audit row) the city authority (社会治理中心) has ruled on — 不合理退回 (unreasonable) or
合理 (reasonable) — with who, when and why; the counts kept per day (`tally`, migration 0020) gain
`unreasonable`, the returns ruled unreasonable (a unit's 不合理退回数; for a community, returns of its
orders that are not its misroute, 派错), and a trigger lists in `tally_dirty` the return's day and its
event's closing day whenever a ruling is made, changed or removed, as 0020's do for the other tables (a
ruling moves the unit's and community's return counts and the community's first-time count)

Revision ID: 0032
Revises: 0031
Create Date: 2027-01-20
"""
import sqlalchemy as sa
from alembic import op

revision = '0032'
down_revision = '0031'
branch_labels = None
depends_on = None

TZ = sa.DateTime(timezone=True)
#: the ruling columns the counts read
RULING_COLUMNS = "audit_id, event_id, returned_at, verdict"


def upgrade() -> None:
    op.create_table('return_ruling',
                    sa.Column('id', sa.Integer(), primary_key=True),
                    sa.Column('audit_id', sa.Integer(), sa.ForeignKey('audit.id'), nullable=False),
                    sa.Column('event_id', sa.Integer(), sa.ForeignKey('event.id'), nullable=False),
                    sa.Column('unit', sa.String(60)),
                    sa.Column('community', sa.String(60)),
                    sa.Column('returned_at', TZ, nullable=False),
                    sa.Column('verdict', sa.String(12), nullable=False),
                    sa.Column('note', sa.Text()),
                    sa.Column('ruled_by', sa.String(100), nullable=False),
                    sa.Column('ruled_at', TZ, nullable=False))
    op.create_index('ix_return_ruling_audit_id', 'return_ruling', ['audit_id'], unique=True)
    op.create_index('ix_return_ruling_event_id', 'return_ruling', ['event_id'])
    op.add_column('tally', sa.Column('unreasonable', sa.Integer(), nullable=False, server_default='0'))
    if op.get_bind().dialect.name == 'postgresql':
        day = "(({}) AT TIME ZONE 'Asia/Shanghai')::date"
        op.execute(f"""
CREATE FUNCTION tally_return_ruling() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP <> 'INSERT' THEN
    PERFORM tally_mark({day.format('OLD.returned_at')});
    PERFORM tally_mark(tally_closed_day(OLD.event_id));
  END IF;
  IF TG_OP <> 'DELETE' THEN
    PERFORM tally_mark({day.format('NEW.returned_at')});
    PERFORM tally_mark(tally_closed_day(NEW.event_id));
  END IF;
  RETURN NULL;
END $$""")
        op.execute(f"CREATE TRIGGER tally_return_ruling AFTER INSERT OR DELETE OR UPDATE OF {RULING_COLUMNS} "
                   "ON return_ruling FOR EACH ROW EXECUTE FUNCTION tally_return_ruling()")
    else:
        def mark(select):
            return (f"INSERT INTO tally_dirty (day) SELECT v.d FROM ({select}) AS v WHERE v.d IS NOT NULL "
                    "AND NOT EXISTS (SELECT 1 FROM tally_dirty t WHERE t.day = v.d);")

        def marks(row):
            return (mark(f"SELECT date({row}.returned_at, '+8 hours') AS d") + " "
                    + mark(f"SELECT date(closed_at, '+8 hours') AS d FROM event WHERE id = {row}.event_id "
                           "AND status = 'closed'"))
        op.execute(f"CREATE TRIGGER tally_return_ruling_insert AFTER INSERT ON return_ruling BEGIN {marks('NEW')} END")
        op.execute(f"CREATE TRIGGER tally_return_ruling_update AFTER UPDATE OF {RULING_COLUMNS} ON return_ruling "
                   f"BEGIN {marks('OLD')} {marks('NEW')} END")
        op.execute(f"CREATE TRIGGER tally_return_ruling_delete AFTER DELETE ON return_ruling BEGIN {marks('OLD')} END")


def downgrade() -> None:
    if op.get_bind().dialect.name == 'postgresql':
        op.execute("DROP TRIGGER tally_return_ruling ON return_ruling")
        op.execute("DROP FUNCTION tally_return_ruling()")
    else:
        for name in ('insert', 'update', 'delete'):
            op.execute(f"DROP TRIGGER tally_return_ruling_{name}")
    op.drop_column('tally', 'unreasonable')
    op.drop_index('ix_return_ruling_event_id', table_name='return_ruling')
    op.drop_index('ix_return_ruling_audit_id', table_name='return_ruling')
    op.drop_table('return_ruling')
