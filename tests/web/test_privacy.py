"""A reporter's contact (issue #6 privacy) through GET /api/events/{id}: in full for the registering
community's cadres, masked for everyone else — also inside the timeline's `reported` entry (the masks
themselves: tests/engine/test_privacy.py). Through the API on both databases."""
from __future__ import annotations

CONTACT = {"name": "王小明", "phone": "13800001111"}


def test_the_registering_community_sees_the_contact_and_others_see_it_masked(api):
    event = api.report(reporter_contact=CONTACT)
    api.whistle_to(event["id"], department="zhifa")
    full = api.event(event["id"], user="staff1")
    assert full["reporter_contact"] == CONTACT and full["contact_masked"] is False
    clerk = api.event(event["id"], user="zhifa1")
    assert clerk["reporter_contact"] == {"name": "王**", "phone": "138****1111"} and clerk["contact_masked"] is True
    reported = next(t for t in clerk["timeline"] if t["action"] == "reported")
    assert reported["data"]["reporter_contact"] == {"name": "王**", "phone": "138****1111"}
    assert "13800001111" not in str(clerk)
    for other in ("city1", "admin1", "owner1"):                # the city and administrators: masked too
        seen = api.event(event["id"], user=other)
        assert seen["reporter_contact"] == {"name": "王**", "phone": "138****1111"} and seen["contact_masked"], other
