"""清单外吹哨 (§7.3.2, engine/oversight/unlisted_whistles.py) of a sensitive event (Table A.1 rows 1–3): the city
counts it without its number, type, reason or name; a cadre designated for such events reads it whole."""
from __future__ import annotations

from datetime import timedelta

from engine.accounts.users import create_user
from engine.core.clock import parse_instant
from engine.oversight import unlisted_whistles
from engine.store import paging
from tests.conftest import SIM_START
from tests.engine.steps import complete, reported_and_started

START = parse_instant(SIM_START)
PERIOD = (START, START + timedelta(days=1))
REASON = "涉及重点人员，须公安局处置"


def test_an_unlisted_whistle_of_a_sensitive_event_is_counted_but_not_shown_to_those_who_may_not_see_it(run, read):
    # a cadre who is also the part-time whistle officer (§7.3.3 专职或兼职), designated for sensitive events
    run(lambda cmd: create_user(cmd.session, cmd.catalogs, cmd.env.clock, "whistle9", "whistle-pass-9",
                                ["community_staff", "whistle_officer"], "lg-xincheng", None, "吹哨人员 周敏", 1024, True))
    event_id = reported_and_started(run, type_code="A01", description="重点人员扬言报复")   # off lg-xincheng's list
    run(complete, event_id, "verify", {"verdict": "accept"}, user="staff1")
    run(complete, event_id, "analyse", {"disposal": "whistle"}, user="staff1")
    run(complete, event_id, "issue_whistle", {"lead_department": "gongan", "on_site": False, "whistle_reason": REASON},
        user="whistle9")
    page = paging.PageRequest(10)

    city = read(unlisted_whistles.listing, *PERIOD, None, page, user="city1")
    assert city["communities"] == [{"community": "lg-xincheng", "community_name": "新城社区", "count": 1}]
    [hidden] = city["items"]
    assert hidden["sensitive"] is True and hidden["community"] == "lg-xincheng"
    assert (hidden["event_id"], hidden["event_number"], hidden["event_type"], hidden["by_name"]) == (None,) * 4
    assert REASON not in str(hidden) and "重点人员" not in str(hidden)

    [shown] = read(unlisted_whistles.listing, *PERIOD, None, page, user="staff1")["items"]   # designated
    assert (shown["event_id"], shown["event_type"], shown["reason"], shown["by_name"]) == (
        event_id, "A01", REASON, "吹哨人员 周敏")
    assert "sensitive" not in shown
