"""An API error said apart in each language (issue #20): beside the "中文 (English)" text kept for programs that read
it, `message_zh`/`message_en` and each field's `reason_zh`/`reason_en`, so a client shows one language — never both in
one line. The real app over HTTP, both databases."""
from __future__ import annotations

from tests.web.client import REPORT


def test_a_refusal_gives_each_reason_in_each_language_apart(api):
    r = api.post("/api/events", "grid1", json={**REPORT, "description": "x", "type_code": "Z99"})
    assert r.status_code == 422
    for error in r.json["errors"]:
        assert error["reason"].startswith(error["reason_zh"])                       # the same words, apart
        assert not any("\u4e00" <= ch <= "\u9fff" for ch in error.get("reason_en", ""))
        assert any("\u4e00" <= ch <= "\u9fff" for ch in error["reason_zh"])
        assert "(" not in error["reason_zh"] or "（" in error["reason_zh"]
    described = {e["field"]: e for e in r.json["errors"]}
    assert "description" in described and described["description"]["reason_en"]


def test_a_message_in_one_language_is_given_as_it_is(api):
    r = api.get("/api/events/999999", "staff1")
    assert r.status_code == 404
    zh, en = r.json.get("message_zh"), r.json.get("message_en")
    assert zh or en
    assert r.json["message"] in (zh, en) or r.json["message"] == f"{zh} ({en})"
