"""§9.2 巡查打卡 chooses the grid (issue #20): each community lists its grids in the communities catalog
(catalogs/data/communities.geojson `grids`), its own staff edit them with the whistle list, and the patrol page
offers them as a select; a grid not listed yet is typed (其他网格), free text only as the fallback. Both
databases."""
from __future__ import annotations

import re

from tests.web.test_catalog_edits import community, put
from tests.web.test_sensitive import web_session
from tests.web.test_ui_pages import csrf


def test_a_communitys_staff_edit_its_grids_and_a_bad_list_is_refused_naming_the_row(api):
    assert community(api)["grids"] == ["新城一网格", "新城二网格", "新城三网格"]     # shipped in the catalog
    body = put(api, "/api/catalogs/communities/lg-xincheng", "staff1", {"grids": ["新城一网格", "新城四网格"]})
    assert body["changed"] and body["summary"]["changed"] == ["lg-xincheng: grids"]
    assert community(api)["grids"] == ["新城一网格", "新城四网格"]
    assert community(api, "lg-longgang")["grids"][0] == "龙港一网格"           # another community's kept
    refused = put(api, "/api/catalogs/communities/lg-xincheng", "staff1", {"grids": ["新城一网格", "新城一网格"]}, 422)
    assert [e["field"] for e in refused["errors"]] == ["grids"], refused
    refused = put(api, "/api/catalogs/communities/lg-xincheng", "staff1", {"grids": [" 新城五网格"]}, 422)
    assert [e["field"] for e in refused["errors"]] == ["grids[0]"], refused
    assert community(api)["grids"] == ["新城一网格", "新城四网格"]             # nothing changed
    put(api, "/api/catalogs/communities/lg-xincheng", "staff2", {"grids": []}, 403)   # not theirs


def test_the_patrol_page_offers_the_communitys_grids_and_takes_a_typed_one(app, api):
    page = web_session(app, "grid1")
    html = page.get("/patrol").get_data(as_text=True)
    select = re.search(r'<select id="grid" name="grid".*?</select>', html, re.S).group(0)
    assert re.findall(r'<option value="([^"]*)"', select) == ["", "新城一网格", "新城二网格", "新城三网格", "__other"]
    token = csrf(page, "/patrol")
    r = page.post("/patrol", data={"csrf_token": token, "grid": "新城二网格"})
    assert r.status_code == 302
    r = page.post("/patrol", data={"csrf_token": token, "grid": "__other", "grid_other": "新城临时网格"})
    assert r.status_code == 302
    r = page.post("/patrol", data={"csrf_token": token, "grid": "__other", "grid_other": ""})
    assert r.status_code == 422 and 'class="error"' in r.get_data(as_text=True)
    grids = [p["grid"] for p in api.get("/api/patrols", "city1").json["items"]]
    assert sorted(grids) == ["新城临时网格", "新城二网格"]


def test_a_community_without_grids_in_its_catalog_types_the_grid(app, api):
    put(api, "/api/catalogs/communities/lg-xincheng", "admin1", {"grids": []})
    html = web_session(app, "grid1").get("/patrol").get_data(as_text=True)
    assert '<select id="grid"' not in html and '<input id="grid" name="grid"' in html
