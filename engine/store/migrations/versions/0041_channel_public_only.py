"""a notice channel whose address someone other than a system administrator set is sent to the public internet
only, and that is checked again at each sending (engine/notices/targets.py): `notice_channel.public_only`.
Channels already there: by who set the address last — the latest `notice_channel_changed` audit row that changed
it, else who made the channel — when that is not a system administrator now.

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
              if "system_admin" in _loaded(roles)}
    # only a person's channel is ever set by someone who is not a system administrator
    set_by = dict(bind.execute(sa.text("SELECT id, created_by FROM notice_channel WHERE owner_kind = 'person'")).all())
    for actor, data in bind.execute(sa.text("SELECT actor, data FROM audit WHERE action = 'notice_channel_changed' "
                                            "ORDER BY id")):
        data = _loaded(data)
        if isinstance(data, dict) and "url" in data and data.get("channel") in set_by:
            set_by[data["channel"]] = actor
    ids = [channel for channel, actor in set_by.items() if actor not in admins]
    if ids:
        bind.execute(sa.text("UPDATE notice_channel SET public_only = :yes WHERE id IN :ids")
                     .bindparams(sa.bindparam("ids", expanding=True)), {"yes": True, "ids": ids})


def _loaded(value):
    """A JSON column as read by a plain statement: text on SQLite, already decoded on PostgreSQL."""
    return json.loads(value) if isinstance(value, str) else (value or [])


def downgrade() -> None:
    with op.batch_alter_table('notice_channel') as batch:
        batch.drop_column('public_only')
