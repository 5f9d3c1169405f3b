"""People as the pages name them (issue #20): a display name and unit (陈芳（新城社区）), never a login name — who
claimed a task, who blew the whistle, who recorded a spot check, who is supervised, who deployed a process. An
account no one has any more is 未知人员 and the system's own steps 系统 (engine/casework/record.py `named`)."""
from __future__ import annotations

from flask_babel import gettext

from engine.casework import record
from web.units import services

#: who deployed, activated or migrated from the command line (`eventflow deploy --actor`, by default "cli")
COMMAND_LINE = "cli"


def named(usernames) -> dict[str, str]:
    """{user name: how the page names them} of these accounts (one query), in the page's language where the
    words are the system's own (系统, 未知人员, 命令行部署)."""
    wanted = {u for u in usernames if u}
    if not wanted:
        return {}
    svc = services()
    found = svc.read(lambda session: record.named(session, svc.catalogs, wanted))
    if COMMAND_LINE in wanted and found[COMMAND_LINE] == record.UNKNOWN_NAME:
        found[COMMAND_LINE] = "命令行部署"
    return {u: gettext(text) for u, text in found.items()}
