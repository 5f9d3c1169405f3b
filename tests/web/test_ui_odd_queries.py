"""Never a 5xx on a page (the API's are fuzzed from its OpenAPI document: tests/web/test_schemathesis.py): every
page of the web app that GET reaches, as a community worker, a department clerk and an administrator, asked
with query arguments it does not expect — url_for's own words (`endpoint`, `_external`), a broken cursor or
limit, bytes that are not UTF-8, a NUL, a long value, a repeated filter — answers below 500. With three
reports and `limit=2` the lists have a next page, so their page links are built from those arguments."""
from __future__ import annotations

import re

from tests.web.test_sensitive import web_session

ODD = ("limit=2&endpoint=x&_external=1&_scheme=javascript&_anchor=a", "cursor=&limit=", "limit=-1&cursor=%00",
       "source=%ff%fe&status=open&status=closed", "from=2026-13-40&to=x&period=bad", "q=" + "字" * 3000,
       "community=../../etc&type_code[]=1&lang=xx")
#: path arguments the pages take, given an id that exists (the first report)
IDS = {"event_id", "id", "task_id", "number"}


def test_every_page_answers_odd_query_arguments_below_500(app, api):
    for _ in range(3):
        api.report()
    pages = [rule for rule in app.url_map.iter_rules() if "GET" in rule.methods and not rule.arguments - IDS
             and not rule.rule.startswith(("/api/", "/static", "/open311"))]
    assert len(pages) > 20
    failed = []
    for user in ("grid1", "zhifa1", "admin1"):
        page = web_session(app, user)
        for rule in pages:
            path = re.sub(r"<[^>]+>", "1", rule.rule)
            for query in ODD:
                status = page.get(f"{path}?{query}").status_code
                if status >= 500:
                    failed.append((user, path, query, status))
    assert failed == []
