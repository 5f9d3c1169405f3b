"""Reading the screens in a real browser (issue #20): the event page's map draws the community boundary, the event,
the 到场 check-in with its distance and the open events nearby coloured by type, with a legend in words — on a phone
and at a desk; the 考核 page says why a rate is empty and gives no score on no data, with 环比 and 排名 beside the
others; with tiles set as docs/maps.md sets 天地图 (a street and a label layer, `{s}`, `{tk}`), both maps draw them
from a stand-in tile server. Screenshots under artifacts/reading/."""
from __future__ import annotations

import io
import shutil
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from PIL import Image
from playwright.sync_api import expect

from tests.browser.test_browser import ARTIFACTS, DESK, PHONE, Person, served, server  # noqa: F401
from tests.web.client import REPORT, Api
from tests.web.test_on_site import arrive, north, on_site_order

SHOTS = ARTIFACTS.parent / "reading"


def _near(api, description, lat, lng, **more):
    return api.report(description=description, location={**REPORT["location"], "lat": lat, "lng": lng}, **more)["id"]


def test_the_assessment_page_says_why_a_rate_is_empty(server, browser):  # noqa: F811
    from tests.web.test_assessment_reading import _history as history   # the module's server: not a fresh database
    base, app = server
    shutil.rmtree(SHOTS / "dashboard", ignore_errors=True)
    history(Api(app))
    for device, name in ((DESK, "desk"), (PHONE, "phone")):
        city = Person(browser, base, "city1", device, SHOTS / "dashboard")
        page = city.page
        page.get_by_role("link", name="考核").click()
        page.get_by_label("自").fill("2026-10-10")
        page.get_by_label("至").fill("2026-10-11")
        page.get_by_role("button", name="查询").click()
        gongan = page.locator("table[data-testid=indicators] tr[data-key=gongan]")
        expect(gongan.get_by_test_id("no-score")).to_have_text("无数据，不评分")
        expect(gongan.locator("td[data-indicator=disposal_rate]")).to_contain_text("本期无到期事件")
        expect(gongan.locator("td[data-indicator=disposal_rate]")).to_contain_text("0 / 0")
        expect(gongan.locator("td[data-indicator=first_time_rate]")).to_contain_text("100.0%")
        zhifa = page.locator("table[data-testid=indicators] tr[data-key=zhifa]")
        expect(zhifa.get_by_test_id("rank")).to_have_text("排名 2/2（市直部门）")
        expect(zhifa.get_by_test_id("score-change")).to_have_text("环比 -18.67")
        expect(page.get_by_test_id("reasons")).to_contain_text("提前办结、时限在期后到期的，计入时限到期的那一期")
        expect(page.get_by_test_id("compared-with")).to_contain_text("2026-10-08 至 2026-10-09")
        gongan.scroll_into_view_if_needed()
        city.shot(f"01-dashboard-{name}")
        city.close()


def test_the_event_map_shows_the_boundary_the_neighbours_by_type_and_the_check_in(server, browser):  # noqa: F811
    base, app = server
    shutil.rmtree(SHOTS / "event_map", ignore_errors=True)
    api = Api(app)
    event_id = api.report(description="地图样本：新城大道占道经营")["id"]
    _near(api, "附近：人行道占道", 27.5234, 120.6005)                                  # A05 市容环境卫生
    _near(api, "附近：消防通道堵塞", 27.5190, 120.5985, type_code="A30")                # another type: 消防
    secret = _near(api, "警情：线索人住三号楼", 27.5213, 120.6005, type_code="A03", user="stationed1",
                   source="committee_patrol")                                       # sensitive: staff3 never sees it
    on_site_order(api, event_id)
    arrive(api, event_id, north(120))
    a30 = (app.extensions["eventflow"].catalogs.event_type("A30") or {})["category"]

    for device, name in ((PHONE, "phone"), (DESK, "desk")):
        clerk = Person(browser, base, "staff1", device, SHOTS / "event_map")
        page = clerk.page
        errors = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.goto(f"/events/{event_id}")
        box = page.get_by_test_id("map")
        expect(box).to_have_attribute("data-ready", "2")                              # boundary and point
        expect(box).to_have_attribute("data-neighbours", "3")                         # the 警情 too: staff1 is designated
        expect(box).to_have_attribute("data-arrivals", "1")
        expect(box.locator("path.leaflet-interactive")).to_have_count(5)              # boundary, point, 3 neighbours
        expect(box.locator(".arrival-pin")).to_have_count(1)
        expect(box.locator(".leaflet-tooltip.arrival-label")).to_have_text("到场 120 米")
        legend = page.get_by_test_id("map-legend")
        expect(legend.get_by_test_id("arrival-distance")).to_have_text("到场位置：执法局 执法局 办事员，距本事件 120 米")
        expect(legend.get_by_test_id("neighbour-count")).to_have_text("周边 1000 米内在办事件 3 件")
        expect(legend.get_by_test_id("neighbour-type")).to_have_count(3)
        expect(legend).to_contain_text(a30)
        clerk.shot(f"01-event-map-{name}")
        box.locator("path.neighbour").nth(1).click()                 # the second nearest (消防, south-west): in words
        expect(box.locator(".leaflet-popup-content")).to_contain_text(a30)
        expect(box.locator(".leaflet-popup-content")).to_contain_text("附近：消防通道堵塞")
        expect(box.locator(".leaflet-popup-content")).to_contain_text("距本事件")
        clerk.shot(f"02-event-map-{name}-neighbour")
        assert not errors, errors
        clerk.close()

    from tests.web.test_sensitive import staff3
    staff3(app)
    other = Person(browser, base, "staff3", PHONE, SHOTS / "event_map")                # not designated
    other.page.goto(f"/events/{event_id}")
    box = other.page.get_by_test_id("map")
    expect(box).to_have_attribute("data-neighbours", "2")
    expect(other.page.get_by_test_id("map-legend")).not_to_contain_text("警情")
    assert "线索人" not in other.page.content()
    assert other.page.request.get(f"{base}/events/{secret}/map.json").status == 404
    other.shot("03-event-map-not-designated")
    other.close()


@pytest.fixture(scope="module")
def tile_server():
    """A stand-in for a tile server (天地图 or a city's own): answers every tile with a PNG and keeps the paths asked."""
    buffer = io.BytesIO()
    Image.new("RGB", (256, 256), (222, 230, 214)).save(buffer, "PNG")
    tile, asked = buffer.getvalue(), []

    class Tiles(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 - http.server's name
            asked.append(self.path)
            self.send_response(200)
            self.send_header("Content-Type", "image/png")
            self.send_header("Content-Length", str(len(tile)))
            self.end_headers()
            self.wfile.write(tile)

        def log_message(self, *args):
            pass
    http = ThreadingHTTPServer(("127.0.0.1", 0), Tiles)
    threading.Thread(target=http.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{http.server_port}", asked
    http.shutdown()


@pytest.fixture(scope="module")
def tiled_server(tmp_path_factory, tile_server, seeded_sqlite_template):
    """The app with its maps pointed at the tile server the way docs/maps.md sets 天地图: a street layer and a label
    layer, `{s}` over two servers, the key as `{tk}`, an attribution."""
    tiles, _asked = tile_server
    query = "TILEMATRIX={z}&TILEROW={y}&TILECOL={x}&tk={tk}"
    with served(tmp_path_factory.mktemp("tiled"), seeded_sqlite_template, map_tiles=f"{tiles}/t{{s}}/vec_w/wmts?LAYER=vec&{query}",
                map_labels=f"{tiles}/t{{s}}/cva_w/wmts?LAYER=cva&{query}", map_subdomains="01",
                map_key="test-key-1", map_attribution="© 天地图 <b>审图号</b>") as found:
        yield found


def test_the_maps_draw_the_tiles_the_settings_name(tiled_server, tile_server, browser):  # noqa: F811
    base, app = tiled_server
    _tiles, asked = tile_server
    event_id = Api(app).report(description="底图样本")["id"]
    cadre = Person(browser, base, "staff1", PHONE, SHOTS / "tiles")
    page = cadre.page
    page.goto(f"/events/{event_id}")
    box = page.get_by_test_id("map")
    expect(box).to_have_attribute("data-tile-layers", "2")
    for layer in range(2):           # a tile of each layer drawn (streets, then labels): each was asked for
        expect(box.locator(".leaflet-tile-pane .leaflet-layer").nth(layer).locator("img.leaflet-tile-loaded").first) \
            .to_be_visible()
    expect(box.locator(".leaflet-control-attribution")).to_contain_text("© 天地图 <b>审图号</b>")   # text, not HTML
    assert box.locator(".leaflet-control-attribution b").count() == 0
    streets = [p for p in asked if "/vec_w/" in p]
    labels = [p for p in asked if "/cva_w/" in p]
    assert streets and labels and all("tk=test-key-1" in p for p in asked)
    assert {p.split("/")[1] for p in asked} <= {"t0", "t1"} and len({p.split("/")[1] for p in asked}) == 2
    cadre.shot("01-event-map-with-tiles")
    before = len(asked)
    page.goto("/?view=map")                                                          # 待办's map: the same tiles
    expect(page.get_by_test_id("tasks-map")).to_have_attribute("data-tile-layers", "2")
    expect(page.get_by_test_id("tasks-map").locator("img.leaflet-tile-loaded").first).to_be_visible()
    assert len(asked) > before
    cadre.shot("02-todo-map-with-tiles")
    cadre.close()
