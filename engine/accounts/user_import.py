"""Bulk import of staff accounts from a spreadsheet (issue #6: an administrator manages users, roles and
scopes, including a bulk import from xlsx or CSV).

Columns (the header row, in Chinese or English): 用户名/username, 姓名/display_name, 角色/roles (several
separated by 、 , ; or spaces; role codes or their Chinese names from the roles catalog), 社区/community,
单位/unit (catalog codes), 敏感事件/sensitive_access (是/否). Every row is checked first; one bad row refuses the
whole file, naming each bad row and column, and nothing is created. Each new user gets a random initial
password, returned once to the administrator (passwords never travel in a spreadsheet)."""
from __future__ import annotations

import csv
import io
import re
import secrets

from engine.accounts import users
from engine.core import words
from engine.core.errors import InvalidData
from engine.store.models import Audit

COLUMNS = {"用户名": "username", "username": "username", "姓名": "display_name", "display_name": "display_name",
           "角色": "roles", "roles": "roles", "社区": "community", "community": "community", "单位": "unit",
           "unit": "unit", "敏感事件": "sensitive_access", "sensitive_access": "sensitive_access"}
MAX_ROWS = 2000
YES = {"是", "yes", "y", "true", "1"}


def read_rows(filename: str | None, data: bytes) -> list[dict]:
    """The rows of an .xlsx or a UTF-8 CSV, keyed by column name; InvalidData naming `file` if unreadable."""
    name = (filename or "").lower()
    from openpyxl import load_workbook   # only where a sheet is read (outside the try: a missing library is no bad file)
    try:
        if name.endswith(".xlsx") or data[:2] == b"PK":
            sheet = load_workbook(io.BytesIO(data), read_only=True, data_only=True).active
            table = [["" if v is None else str(v).strip() for v in row] for row in sheet.iter_rows(values_only=True)]
        else:
            text = data.decode("utf-8-sig")
            table = [[v.strip() for v in row] for row in csv.reader(io.StringIO(text))]
    except Exception as err:  # noqa: BLE001 - any unreadable file is the same answer
        raise InvalidData([{"field": "file", "reason": "无法读取表格，请上传 xlsx 或 UTF-8 CSV "
                                                       f"(unreadable: {type(err).__name__})"}]) from None
    table = [row for row in table if any(row)]
    if not table:
        raise InvalidData([{"field": "file", "reason": "表格为空 (the file has no rows)"}])
    header = [COLUMNS.get(h.strip().lower() if h.isascii() else h.strip()) for h in table[0]]
    missing = {"username", "roles"} - set(header)
    if missing:
        raise InvalidData([{"field": "file", "reason": f"表头缺少列：{'、'.join(sorted(missing))}，请按页面说明填写表头 "
                                                       "(missing columns)"}])
    if len(table) - 1 > MAX_ROWS:
        raise InvalidData([{"field": "file", "reason": f"一次至多导入 {MAX_ROWS} 行 (at most {MAX_ROWS} rows)"}])
    return [{key: (row[i] if i < len(row) else "") for i, key in enumerate(header) if key} for row in table[1:]]


def _roles(text: str, catalogs) -> list[str]:
    found = []
    for part in [p for p in re.split(r"[、,;，；\s]+", text or "") if p]:
        found.append(catalogs.role(part) or part)   # unknown ones are named by create_user's check
    return found


def import_users(cmd, filename, data: bytes, scrypt_n: int = 2**14) -> list[dict]:
    """Create every user of the file, or none. Returns [{row, username, password}] (passwords shown once).
    The import is audited: who, which file, which accounts (never their passwords)."""
    session, catalogs, clock = cmd.session, cmd.catalogs, cmd.env.wall_clock
    rows = read_rows(filename, data)
    if not rows:
        raise InvalidData([{"field": "file", "reason": "文件中没有账号行 (the file holds no account rows)"}])
    errors, created, seen = [], [], set()
    for number, row in enumerate(rows, start=2):          # row 1 is the header
        username = row.get("username", "")
        if username in seen:
            errors.append({"field": f"row {number}.username",
                           "reason": f"第 {number} 行：「用户名」{username} 在表中重复，请改成不同的 (repeated)"})
            continue
        seen.add(username)
        password = secrets.token_urlsafe(9)
        try:
            with session.begin_nested():      # a bad row leaves no trace; the others are still checked
                users.create_user(session, catalogs, clock, username, password, _roles(row.get("roles"), catalogs),
                                  row.get("community") or None, row.get("unit") or None,
                                  row.get("display_name") or None, scrypt_n,
                                  (row.get("sensitive_access") or "").strip().lower() in YES)
        except InvalidData as err:
            errors.extend({"field": f"row {number}.{e['field']}",
                           "reason": words.prefixed(e["reason"], f"第 {number} 行：", f"row {number}: ")}
                          for e in err.details["errors"])
            continue
        created.append({"row": number, "username": username, "password": password})
    if errors:
        raise InvalidData(errors)          # the unit of work rolls back: nothing is created
    session.add(Audit(at=clock.now(), actor=cmd.actor, action="users_imported",
                      data={"file": filename, "users": [c["username"] for c in created]}))
    return created
