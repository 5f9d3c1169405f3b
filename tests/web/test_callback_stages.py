"""Signed callbacks carry every stage (issue #18; §4.3, §7.1 反馈来源): an endpoint set with `--stages`
hears each stage of Figure 1 as it happens, through the same outbox, signature and retries as the outcome;
one set as before (or with `--outcome-only`) hears the outcome alone. The receiver is a real HTTP server on
127.0.0.1 checking every signature; delivery runs by calling the delivery job; nothing sleeps."""
from __future__ import annotations

import hashlib
import hmac
import json

import pytest

from engine.channels import callbacks, stages
from engine.core.errors import InvalidData
from tests.web.test_alerts import camera, svc_of  # noqa: F401, F811 (the camera fixture)
from tests.web.test_callbacks import cli, deliver, receiver, set_callback  # noqa: F401 (the receiver fixture)
from tests.web.test_open311 import event_by_number, new_key, reported


def signed_bodies(receiver, secret) -> list[dict]:
    """Every callback the receiver got, each signature checked, once each (a retry carries the same
    X-Eventflow-Delivery id, the receiver's key to drop repeats), in the order they were written."""
    bodies = {}
    for headers, body in receiver.requests:
        timestamp = headers["X-Eventflow-Timestamp"]
        expected = "sha256=" + hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
        assert hmac.compare_digest(headers["X-Eventflow-Signature"], expected)
        bodies.setdefault(int(headers["X-Eventflow-Delivery"]), json.loads(body))
    return [bodies[k] for k in sorted(bodies)]


def test_an_endpoint_that_asks_for_stages_hears_each_one_signed(app, api, settings, receiver):
    secret = set_callback(settings, "hotline_12345", receiver.url)          # as before: the outcome only
    out = cli(settings, "callback", "set", "hotline_12345", receiver.url, "--stages")
    assert out.exit_code == 0 and "every stage" in out.output, out.output
    secret = next(line.split(": ", 1)[1] for line in out.output.splitlines() if line.startswith("secret: "))
    key = new_key(app, "hotline_12345")
    number = reported(api, key, source_ref="GD-2026-0042")["service_request_id"]
    event_id = event_by_number(app, number).id
    assert deliver(app).attempted == 0                  # the report's own answer is its receipt
    api.complete("staff1", event_id, "verify", {"verdict": "accept"})
    api.complete("staff1", event_id, "analyse", {"disposal": "whistle"})
    api.complete("whistle1", event_id, "issue_whistle", {"lead_department": "shijian", "on_site": False,
                                                          "whistle_reason": "社区无法自行处置"})
    api.complete("shijian1", event_id, "accept_whistle", {"decision": "return", "return_code": "not_ours", "return_reason": "非本部门职责"})
    api.complete("whistle1", event_id, "redispatch", {"lead_department": "zhifa"})
    api.complete("zhifa1", event_id, "accept_whistle", {"decision": "accept"})
    [close] = [d for d in api.event(event_id)["deadlines"] if d["kind"] == "close"]
    r = api.post(f"/api/deadlines/{close['id']}/extension-requests", "staff1", json={"reason": "需协调多方"})
    r = api.post(f"/api/extension-requests/{r.json['id']}/decision", "city1",
                 json={"approve": True, "new_due_at": "2026-10-10T09:00:00+08:00", "note": "同意"})
    assert r.status_code == 200, r.json
    receiver.script = [500]                             # a stage is retried like an outcome
    first = deliver(app)
    assert len(first.retried) == 1 and len(first.delivered) == 6
    api.complete("zhifa1", event_id, "dispose_feedback", {"result_summary": "已清理占道摊位"})
    api.complete("staff1", event_id, "check", {"passed": False, "rating": "不满意", "check_note": "仍有摊位"})
    api.complete("zhifa1", event_id, "dispose_rework", {"result_summary": "已全部清理"})
    api.complete("staff1", event_id, "check", {"passed": True, "rating": "满意"})
    api.advance("PT1M")
    deliver(app)
    bodies = signed_bodies(receiver, secret)
    assert len(receiver.requests) == len(bodies) + 1                      # the one answered 500, sent again
    assert [b["stage"] for b in bodies] == ["accepted", "analysed", "dispatched", "unit_returned", "redispatched",
                                            "unit_accepted", "extended", "fed_back", "rework", "fed_back", "closed"]
    assert [b["kind"] for b in bodies] == ["stage"] * 10 + ["outcome"]
    assert {b["status"] for b in bodies} <= set(stages.STATUSES)
    by_stage = {b["stage"]: b for b in bodies}
    assert by_stage["redispatched"]["description"] == "改派：已改派至执法局，待签收受理（§7.3）"
    assert by_stage["extended"]["description"] == "延期：经市级主管部门批准，办结时限延至 2026-10-10T09:00:00+08:00（§8.4）"
    assert by_stage["unit_accepted"]["description"] == "处置中：执法局已签收受理（§8.3）"
    assert all(b["event"] == number and b["source_refs"] == ["GD-2026-0042"] for b in bodies)
    closed = by_stage["closed"]
    assert (closed["kind"], closed["outcome"], closed["outcome_name"], closed["status"]) == ("outcome", "closed", "已办结", "fixed")
    assert closed["description"] == "办结：已全部清理"
    text = json.dumps(bodies, ensure_ascii=False)
    for secret_text in ("仍有摊位", "zhifa1", "staff1", "13800001111"):
        assert secret_text not in text
    kinds = [c["kind"] for c in api.event(event_id)["callbacks"]]
    assert kinds.count("outcome") == 1 and kinds.count("stage") == 10


def test_outcome_only_is_the_default_and_can_be_set_back(app, api, settings, receiver):
    set_callback(settings, "hotline_12345", receiver.url)
    key = new_key(app, "hotline_12345")
    number = reported(api, key)["service_request_id"]
    event_id = event_by_number(app, number).id
    api.complete("staff1", event_id, "verify", {"verdict": "accept"})
    api.complete("staff1", event_id, "analyse", {"disposal": "whistle"})
    assert deliver(app).attempted == 0                  # no stage: this endpoint asked for the outcome only
    cli(settings, "callback", "set", "hotline_12345", receiver.url, "--stages")
    api.complete("whistle1", event_id, "issue_whistle", {"lead_department": "zhifa", "on_site": False,
                                                          "whistle_reason": "社区无法自行处置"})
    out = cli(settings, "callback", "set", "hotline_12345", receiver.url)        # set again: keeps --stages
    secret = next(line.split(": ", 1)[1] for line in out.output.splitlines() if line.startswith("secret: "))
    api.complete("zhifa1", event_id, "accept_whistle", {"decision": "accept"})
    out = cli(settings, "callback", "set", "hotline_12345", receiver.url, "--outcome-only")
    assert out.exit_code == 0 and "outcome only" in out.output
    secret = next(line.split(": ", 1)[1] for line in out.output.splitlines() if line.startswith("secret: "))
    api.complete("zhifa1", event_id, "dispose_feedback", {"result_summary": "已清理"})
    api.complete("staff1", event_id, "check", {"passed": True, "rating": "满意"})
    deliver(app)
    bodies = signed_bodies(receiver, secret)            # every attempt signed with the secret of its sending
    assert [(b["kind"], b["stage"]) for b in bodies] == [("stage", "dispatched"), ("stage", "unit_accepted"),
                                                        ("outcome", "closed")]
    assert set(bodies[-1]) >= {"event", "source", "channel", "source_refs", "outcome", "outcome_name", "reason",
                               "at", "merged_into", "transferred_from"}          # the outcome's fields, as before


def test_a_sensitive_events_stages_carry_no_description(app, api, settings, camera, receiver):
    secret = set_callback(settings, "cam-7", receiver.url)
    cli(settings, "callback", "set", "cam-7", receiver.url, "--stages")
    out = cli(settings, "callback", "set", "cam-7", receiver.url)
    secret = next(line.split(": ", 1)[1] for line in out.output.splitlines() if line.startswith("secret: "))
    r = camera.send(type_code="A03")                    # 警情流转: Table A.1 row 3
    assert r.status_code == 201, r.json
    api.complete("staff1", r.json["event_id"], "verify", {"verdict": "accept"})
    deliver(app)
    [body] = signed_bodies(receiver, secret)
    assert (body["kind"], body["stage"], body["stage_name"], body["description"]) == ("stage", "accepted", "受理", None)


def test_a_bad_mode_names_the_field(app, settings, receiver):
    svc = svc_of(app)
    with pytest.raises(InvalidData) as err:
        svc.run(lambda s: callbacks.set_endpoint(s, svc.catalogs, "hotline_12345", receiver.url, svc.clock.now(), "all"))
    assert err.value.details["errors"][0]["field"] == "mode"
    out = cli(settings, "callback", "set", "hotline_12345", receiver.url, "--stages", "--outcome-only")
    assert out.exit_code == 0    # click: the last flag given wins
