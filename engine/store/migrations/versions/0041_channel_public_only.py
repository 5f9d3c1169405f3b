"""a notice channel whose address someone other than a system administrator set is sent to the public internet
only, and that is checked again at each sending (engine/notices/targets.py): `notice_channel.public_only`.
Channels already there: a person's channel made by someone who is not a system administrator now.

Revision ID: 0041
Revises: 0040
Create Date: 2026-12-06
"""
import json

import sqlalchemy as sa
from alembic import op

revision = '0041'
down_revision = '0040'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('notice_channel', sa.Column('public_only', sa.Boolean(), nullable=False, server_default=sa.false()))
    bind = op.get_bind()
    admins = {name for name, roles in bind.execute(sa.text("SELECT username, roles FROM app_user"))
              if "system_admin" in (json.loads(roles) if isinstance(roles, str) else roles or [])}
    made = bind.execute(sa.text("SELECT id, created_by FROM notice_channel WHERE owner_kind = 'person'")).all()
    ids = [row.id for row in made if row.created_by not in admins]
    if ids:
        bind.execute(sa.text("UPDATE notice_channel SET public_only = :yes WHERE id IN :ids")
                     .bindparams(sa.bindparam("ids", expanding=True)), {"yes": True, "ids": ids})


def downgrade() -> None:
    with op.batch_alter_table('notice_channel') as batch:
        batch.drop_column('public_only')
