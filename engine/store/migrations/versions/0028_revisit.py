"""回访 (issue #18): after closure the community asks the reporter whether it was fixed — one `revisit` row per
closure asked about; `event.revisit` says whether one is open (回访中: the event stays `closed`); the counts
kept per day (`tally`, migration 0020) gain the citizen's satisfaction (§8.6 群众满意率: 回访 reached and
rated, and of those 满意 or 基本满意), and a trigger lists the day of every 回访 recorded, changed or removed
in `tally_dirty`, as 0020's do for the other tables

Revision ID: 0028
Revises: 0027
Create Date: 2027-01-10
"""
import sqlalchemy as sa
from alembic import op

revision = '0028'
down_revision = '0027'
branch_labels = None
depends_on = None

TZ = sa.DateTime(timezone=True)
#: the revisit columns the counts read
REVISIT_COLUMNS = "community, lead_unit, status, recorded_at, reached, rating"
MEASURES = ('revisited', 'revisit_satisfied')


def upgrade() -> None:
    op.create_table('revisit',
                    sa.Column('id', sa.Integer(), primary_key=True),
                    sa.Column('event_id', sa.Integer(), sa.ForeignKey('event.id'), nullable=False),
                    sa.Column('instance_id', sa.Integer()),
                    sa.Column('round', sa.Integer(), nullable=False),
                    sa.Column('community', sa.String(60)),
                    sa.Column('lead_unit', sa.String(60)),
                    sa.Column('closed_at', TZ),
                    sa.Column('opened_at', TZ, nullable=False),
                    sa.Column('status', sa.String(10), nullable=False),
                    sa.Column('recorded_at', TZ),
                    sa.Column('recorded_by', sa.String(100)),
                    sa.Column('via', sa.String(40)),
                    sa.Column('reached', sa.Boolean()),
                    sa.Column('contact_result', sa.String(20)),
                    sa.Column('rating', sa.String(10)),
                    sa.Column('words', sa.Text()),
                    sa.Column('cause', sa.Text()),
                    sa.Column('reopened', sa.Boolean(), nullable=False))
    op.create_index('ix_revisit_event_id', 'revisit', ['event_id'])
    op.create_index('ix_revisit_recorded_at', 'revisit', ['recorded_at'])
    op.add_column('event', sa.Column('revisit', sa.String(10)))
    for name in MEASURES:
        op.add_column('tally', sa.Column(name, sa.Integer(), nullable=False, server_default='0'))
    if op.get_bind().dialect.name == 'postgresql':
        day = "(({}) AT TIME ZONE 'Asia/Shanghai')::date"
        op.execute(f"""
CREATE FUNCTION tally_revisit() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP <> 'INSERT' THEN
    PERFORM tally_mark({day.format('OLD.recorded_at')});
  END IF;
  IF TG_OP <> 'DELETE' THEN
    PERFORM tally_mark({day.format('NEW.recorded_at')});
  END IF;
  RETURN NULL;
END $$""")
        op.execute(f"CREATE TRIGGER tally_revisit AFTER INSERT OR DELETE OR UPDATE OF {REVISIT_COLUMNS} ON revisit "
                   "FOR EACH ROW EXECUTE FUNCTION tally_revisit()")
    else:
        def mark(column):
            return (f"INSERT INTO tally_dirty (day) SELECT v.d FROM (SELECT date({column}, '+8 hours') AS d) AS v "
                    "WHERE v.d IS NOT NULL AND NOT EXISTS (SELECT 1 FROM tally_dirty t WHERE t.day = v.d);")
        op.execute(f"CREATE TRIGGER tally_revisit_insert AFTER INSERT ON revisit BEGIN {mark('NEW.recorded_at')} END")
        op.execute(f"CREATE TRIGGER tally_revisit_update AFTER UPDATE OF {REVISIT_COLUMNS} ON revisit "
                   f"BEGIN {mark('OLD.recorded_at')} {mark('NEW.recorded_at')} END")
        op.execute(f"CREATE TRIGGER tally_revisit_delete AFTER DELETE ON revisit BEGIN {mark('OLD.recorded_at')} END")


def downgrade() -> None:
    if op.get_bind().dialect.name == 'postgresql':
        op.execute("DROP TRIGGER tally_revisit ON revisit")
        op.execute("DROP FUNCTION tally_revisit()")
    else:
        for name in ('insert', 'update', 'delete'):
            op.execute(f"DROP TRIGGER tally_revisit_{name}")
    for name in MEASURES:
        op.drop_column('tally', name)
    op.drop_column('event', 'revisit')
    op.drop_index('ix_revisit_recorded_at', table_name='revisit')
    op.drop_index('ix_revisit_event_id', table_name='revisit')
    op.drop_table('revisit')
