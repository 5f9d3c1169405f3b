"""Every refusal of the catalog loader has its Chinese words (issue #20): a reason saying what to do (`zh`), or
the JSON Schema error it came from (`detail`, said by engine/core/words.py); and a loader path reads as the
row and field the editor pages show (catalogs/words.py)."""
from __future__ import annotations

import ast
import json
import re
from pathlib import Path

import pytest

from catalogs import CatalogError, load_catalogs
from catalogs import words as catalog_words
from catalogs.loader import DATA_DIR, FILES, read_documents

PACKAGE = Path(catalog_words.__file__).resolve().parent
CJK = re.compile(r"[\u4e00-\u9fff]")


@pytest.mark.parametrize("module", ["checks.py", "loader.py"])
def test_every_refusal_the_loader_can_raise_has_chinese_words(module):
    tree = ast.parse((PACKAGE / module).read_text(encoding="utf-8"))
    calls = [node for node in ast.walk(tree) if isinstance(node, ast.Call)
             and isinstance(node.func, ast.Name) and node.func.id == "CatalogError"]
    assert calls
    for call in calls:
        given = {k.arg for k in call.keywords}
        assert {"zh", "detail"} & given, f"{module}:{call.lineno} CatalogError without zh= (or detail=)"
        for keyword in call.keywords:
            if keyword.arg == "zh":
                text = ast.unparse(keyword.value)
                assert CJK.search(text), f"{module}:{call.lineno} zh= is not Chinese"


def test_a_broken_file_is_refused_with_its_chinese_reason(tmp_path):
    directory = tmp_path / "data"
    directory.mkdir()
    for file in FILES.values():
        (directory / file).write_bytes((DATA_DIR / file).read_bytes())
    rows = json.loads((directory / "event_types.json").read_text(encoding="utf-8"))
    rows[4]["department"] = "nosuchunit"
    (directory / "event_types.json").write_text(json.dumps(rows, ensure_ascii=False), encoding="utf-8")
    with pytest.raises(CatalogError) as caught:
        load_catalogs(directory)
    error = caught.value
    assert (error.path, error.reason) == ("A05.department", "unknown unit 'nosuchunit'")   # the English as before
    assert error.zh == "单位 nosuchunit 不存在：请先在单位目录中添加，或改选其他单位" and error.ref == "nosuchunit"


@pytest.mark.parametrize("key, path, row, field", [
    ("event_types", "A05.department", "「A05 人行道秩序整治」", "「主管部门」"),
    ("units", "zhifa.zhongdui1.parent", "「第一中队」", "「上级单位」"),         # a dotted code: the longest one
    ("units", "zhifa.supervisor.username", "「执法局」", "「分管领导」的「领导账号」"),
    ("communities", "lg-xincheng.whistle_list[1]", "「新城社区」", "「吹哨事项清单」第 2 项"),
    ("calendar", "years.2027.holidays[2]", "「2027 年」", "「放假日期（工作日）」第 3 项"),
    ("calendar", "office_hours.start", "", "「办公时间」的「上班」"),
    ("duty_rosters", "[0].person", "「执法局 2026-10-10」", "「值班人员（账号）」"),
    ("step_limits", "[99].verify", "第 100 行", "「核实」"),
])
def test_a_loader_path_reads_as_the_row_and_field_on_the_page(key, path, row, field):
    documents = read_documents()
    assert catalog_words.describe(key, documents, path) == (row, field)
