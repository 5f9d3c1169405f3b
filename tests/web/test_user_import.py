"""Bulk import of staff accounts from a spreadsheet (issue #6): xlsx made with openpyxl and a UTF-8 CSV,
Chinese headers and role names; one bad row refuses the file naming row and column, and nothing is made."""
from __future__ import annotations

import io

from openpyxl import Workbook


HEADER = ["用户名", "姓名", "角色", "社区", "单位", "敏感事件"]


def xlsx(rows) -> bytes:
    book = Workbook()
    sheet = book.active
    for row in [HEADER, *rows]:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def upload(api, data, name="staff.xlsx", user="admin1"):
    return api.post("/api/users/import", user, data={"file": (io.BytesIO(data), name)},
                    content_type="multipart/form-data")


def usernames(api):
    return {u["username"] for u in api.get("/api/users", "admin1").json["items"]}


def test_an_xlsx_creates_every_user_with_an_initial_password(api):
    r = upload(api, xlsx([["grid7", "网格员 周七", "网格员", "lg-xincheng", None, None],
                          ["cadre7", "社区干部 吴七", "社区干部/社工、社区联合党委", "lg-xincheng", None, "是"],
                          ["clerk7", "执法局 郑七", "department_staff", None, "zhifa.zhongdui1", "否"]]))
    assert r.status_code == 201, r.json
    created = {c["username"]: c for c in r.json["created"]}
    assert set(created) == {"grid7", "cadre7", "clerk7"} and created["grid7"]["row"] == 2
    listed = {u["username"]: u for u in api.get("/api/users", "admin1").json["items"]}
    assert listed["cadre7"]["roles"] == ["committee", "community_staff"] and listed["cadre7"]["sensitive_access"]
    assert listed["clerk7"]["unit"] == "zhifa.zhongdui1"
    signed = api.client.post("/api/auth/token", json={"username": "grid7", "password": created["grid7"]["password"]})
    assert signed.status_code == 200                                       # the initial password works


def test_a_csv_works_too(api):
    data = "username,display_name,roles,community\nstaff8,社区干部 八,community_staff,lg-longgang\n".encode()
    r = upload(api, data, name="staff.csv")
    assert r.status_code == 201 and r.json["created"][0]["username"] == "staff8"


def test_one_bad_row_refuses_the_whole_file_naming_row_and_column(api):
    before = usernames(api)
    r = upload(api, xlsx([["ok9", "好", "网格员", "lg-xincheng", None, None],
                          ["bad9", "坏", "巫师", "lg-xincheng", None, None],
                          ["ok9", "重复", "网格员", "lg-xincheng", None, None],
                          ["far9", "远", "网格员", "lg-nowhere", None, None]]))
    assert r.status_code == 422
    fields = {e["field"] for e in r.json["errors"]}
    assert {"row 3.role", "row 4.username", "row 5.community"} <= fields
    assert usernames(api) == before                                        # nothing was created


def test_only_a_system_admin_may_import_and_a_non_spreadsheet_is_named(api):
    assert upload(api, xlsx([]), user="city1").status_code == 403
    r = upload(api, b"\x00\x01not a sheet", name="x.xlsx")
    assert r.status_code == 422 and r.json["errors"][0]["field"] == "file"
    r = upload(api, "姓名\n张三\n".encode(), name="x.csv")
    assert r.status_code == 422 and "username" in r.json["errors"][0]["reason"]
