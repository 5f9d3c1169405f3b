"""Every page on a 390 px phone (issue #20), in Debian's Chromium: each role walks every page its nav reaches
and the pages those link to (two links deep), and the pages of its work — a task page of each kind it has,
the event pages, the 哨单, the catalog editors, process versions and the modeler, 通报, 督办, 月报, 抽查,
退回, 消息, 巡查, 隐患, 通知渠道, 我的通知方式. On each: nothing scrolls sideways, and every control a thumb hits is at
least 44 CSS px high. A screenshot of each kind of page at phone (390 × 844) and desk (1366 × 768) size is saved
under artifacts/pages/ (not committed); at the desk's size the page must not scroll sideways either.

Besides the walk: a refusal after a click shows in red and a success in green; 巡查 offers the community's
grids; "无拍摄信息" under a photo is a neutral note, not a warning; the event page's diagram opens on the
current task at a scale a phone can read, and zooms by its buttons and by a pinch."""
from __future__ import annotations

import re
import shutil

from playwright.sync_api import expect

from tests.browser.test_browser import PHONE, ROOT, Person, server  # noqa: F401 - fixtures
from tests.samples import image
from tests.web.client import Api
from tests.web.test_monthly_report import report_hazard
from tests.web.test_returns import returned

SHOTS = ROOT / "artifacts" / "pages"
#: a desk's screen: the page just walked on the phone, its window made 1366 × 768 (the desk layout's media
#: queries apply; no second sign-in and page load per page)
DESK = {"viewport": {"width": 1366, "height": 768}}
#: a community cadre, a grid worker, a whistle officer, a department clerk, the city, a process owner, an admin
ROLES = ("staff1", "grid1", "whistle1", "zhifa1", "city1", "owner1", "admin1")
#: links the walk does not open: downloads (Excel, PDF, CSV, photos, BPMN files), signing in, other origins, and
#: task pages (each kind the role has is walked: `world`)
SKIP = re.compile(r"(export|\.xlsx|\.pdf|\.csv|\.json|\.bpmn|/photos/|/files/)|^(/login|/tasks/[^/]+$|https?:|mailto:|tel:|#|javascript:)")
#: what a page is, for the walk: its path with ids as N (one task page per task kind is added apart)
ID = re.compile(r"/(\d+|[0-9a-f]{8}-[0-9a-f-]{27})(?=/|$)")
COMMUNITY = re.compile(r"(/communities|/step_limits)/[a-z][a-z0-9_-]*$")

#: The measure of a page: how wide it is laid out, and each control smaller than a thumb.
#:
#: What counts (WCAG 2.2 2.5.5 Target Size (Enhanced): 44 × 44 CSS px; here the height, as widths are set by
#: their words and the phone's width): every visible `button`, `select`, `textarea`, `summary`, `input`
#: (text, date, file …) and every link — in the header, the page and the footer. A checkbox or radio is
#: tapped through its label: the tallest of its labels counts (a bare box in a table cell is wrapped in a
#: `label.tick` of 44 px). Not counted, as WCAG's exceptions allow:
#: - a link inside a sentence ("Inline": a link shown `display: inline` whose block holds words besides those of
#:   its links and controls);
#: - the bpmn.io watermark on a diagram ("Essential": its licence requires it as drawn);
#: - the controls of the process modeler's canvas and properties panel (bpmn-js's own), a process owner's desk
#:   tool; the modeler page around them is counted.
MEASURE = r"""(width) => {
  const shown = el => { const r = el.getBoundingClientRect();
    return r.width >= 1 && r.height >= 1 && getComputedStyle(el).visibility === 'visible' ? r : null; };
  const words = el => (el.tagName === 'SELECT' ? el.getAttribute('aria-label') || el.name || ''
    : el.innerText || el.value || el.getAttribute('aria-label') || el.name || '').trim().replace(/\s+/g, ' ');
  // words of the link's block besides those of its links and controls: a sentence the link sits in
  const prose = block => { const copy = block.cloneNode(true);
    copy.querySelectorAll('a, button, input, select, textarea, label, script, style').forEach(e => e.remove());
    return copy.textContent.replace(/[\s·•|｜:：,，、;；()（）\[\]]+/g, ''); };
  const inSentence = a => getComputedStyle(a).display === 'inline' && a.parentElement && prose(a.parentElement).length > 0;
  const small = [];
  for (const el of document.querySelectorAll('a[href], button, input:not([type=hidden]), select, textarea, summary')) {
    if (el.closest('.bjs-powered-by, .modeler') || !shown(el)) continue;
    if (el.tagName === 'A' && inSentence(el)) continue;
    let box = shown(el);
    if (el.matches('input[type=checkbox], input[type=radio]'))
      for (const label of el.labels || []) { const r = shown(label); if (r && r.height > box.height) box = r; }
    if (box.height < 43.5) {
      const kind = el.tagName.toLowerCase() + (el.type ? '[' + el.type + ']' : '');
      small.push(`${kind} "${words(el).slice(0, 30)}" ${Math.round(box.height)}px`);
    }
  }
  const scrollWidth = document.documentElement.scrollWidth;
  const inBox = el => el.closest('.scroll, .leaflet-container, .djs-container, .modeler');
  const wide = scrollWidth <= width ? [] : [...document.querySelectorAll('body *')]
    .filter(el => el.getBoundingClientRect().right > width + 1 && !inBox(el)).slice(0, 3)
    .map(el => el.tagName.toLowerCase() + (typeof el.className === 'string' && el.className ? '.' + el.className : ''));
  return {scrollWidth, small, wide};
}"""
#: the widgets drawn after load (map, diagram, charts, modeler) are drawn before a page is measured
READY = """() => [...document.querySelectorAll('#map, #diagram, #tasks-map, .chart, .modeler-page')].every(e => e.dataset.ready)"""


def world(api) -> dict[str, list[str]]:
    """Work in every state a page shows, and the pages of it each role opens besides its nav's links."""
    fresh = api.report(description="待核实：人行道被占道经营")
    api.photo("grid1", fresh["id"])                                          # no EXIF: 无拍摄信息
    verified = api.report(description="待研判：楼道堆放杂物")
    api.complete("staff1", verified["id"], "verify", {"verdict": "accept"})
    to_whistle = api.report(description="待吹哨：占道经营")
    api.complete("staff1", to_whistle["id"], "verify", {"verdict": "accept"})
    api.complete("staff1", to_whistle["id"], "analyse", {"disposal": "whistle"})
    whistled = api.report(description="已吹哨：执法局签收受理")
    api.whistle_to(whistled["id"], co_departments=["shijian"])
    accepted = api.report(description="已签收：待处置反馈")
    api.whistle_to(accepted["id"])
    api.complete("zhifa1", accepted["id"], "accept_whistle", {"decision": "accept"})
    closed = api.report(description="已办结：核查通过")
    api.whistle_to(closed["id"])
    api.close_whistle(closed["id"])
    bounced = api.report(description="市监局退回的事件")
    api.whistle_to(bounced["id"], department="shijian")
    returned(api, "shijian1", bounced["id"], "not_ours", "属占道经营，非市监职责")
    api.post(f"/api/events/{closed['id']}/comments", "grid1", json={"text": "感谢处理"})
    assert api.post("/api/patrols", "grid1", json={"grid": "新城一网格", "lat": 27.52, "lng": 120.6}).status_code == 201
    hazard = report_hazard(api).json
    check = api.post("/api/spot-checks", "city1", json={"community": "lg-xincheng", "size": 1, "seed": 7,
                                                         "from": "2026-10-01T00:00:00+08:00",
                                                         "to": "2026-11-01T00:00:00+08:00"}).json
    version = [v for v in api.get("/api/process-versions", "owner1").json["items"] if v["active"]][0]
    extra = {role: [f"/events/{e['id']}" for e in (fresh, whistled, closed)       # the events the role may see
                    if api.get(f"/api/events/{e['id']}", role).status_code == 200] for role in ROLES}
    for role in ROLES:                      # a task page of each kind the role has
        kinds = {}
        for task in api.tasks(role):
            kinds.setdefault(task["name"], f"/tasks/{task['id']}")
        extra[role] += kinds.values()
    accept = api.task("zhifa1", whistled["id"], "accept_whistle")
    extra["zhifa1"] += [f"/events/{whistled['id']}/whistle-order", f"/tasks/{accept['id']}/delegation"]
    extra["whistle1"] += [f"/events/{whistled['id']}/whistle-order"]
    extra["staff1"] += [f"/hazards/{hazard['id']}"]
    extra["city1"] += [f"/spot-checks/{check['id']}"]
    extra["owner1"] += [f"/admin/processes/{version['id']}/modeler"]
    return extra


def key(url: str) -> str:
    """The page a link opens, ids as N and communities as C; 待办's map view is a page of its own."""
    path, _, query = url.partition("?")
    return COMMUNITY.sub(r"\1/C", ID.sub("/N", path)) + ("?view=map" if "view=map" in query else "")


def visit(page, url: str, width: int) -> dict:
    """The page at `url` measured once drawn, with the status it answered."""
    response = page.goto(url)
    page.wait_for_function(READY, timeout=15000)
    return {**page.evaluate(MEASURE, width), "status": response.status}


def shot(page, path):
    page.screenshot(path=str(path), full_page=True, scale="css")


def test_every_page_fits_a_phone_and_its_controls_fit_a_thumb(server, browser):  # noqa: F811 - fixtures
    """Every role's pages at 390 × 844: no sideways scroll, no control under 44 px (see MEASURE for what
    counts), no script error; each kind of page also at 1366 × 768 with no sideways scroll; both sizes photographed. A role's nav
    pages are walked for each role (what they hold differs); a page further on, once, by the first role reaching
    it; a task page for each kind of task each role has."""
    base, app = server
    shutil.rmtree(SHOTS, ignore_errors=True)
    (SHOTS / "phone").mkdir(parents=True)
    (SHOTS / "desk").mkdir(parents=True)
    extra = world(Api(app))
    problems, walked, done, photographed = [], [], set(), set()
    for role in ROLES:
        phone = Person(browser, base, role, PHONE, SHOTS)
        phone.page.on("pageerror", lambda error, role=role, page=phone.page: problems.append(f"{role} {page.url}: {error}"))
        nav = phone.page.eval_on_selector_all("header nav a", "links => links.map(a => a.getAttribute('href'))")
        assert nav, role
        # (url, how many links from the nav, what page it is, whether it must open): each task kind's page is a
        # page of its own; the nav's pages and the role's own work open, a link further on may answer a refusal
        # (that page is measured as it is shown)
        queue = [(url, 0, f"{role} {key(url)}", True) for url in nav]
        queue += [(url, 2, url if url.startswith("/tasks/") else key(url), True) for url in extra[role]]
        while queue:
            url, depth, page, must_open = queue.pop(0)
            if page in done:
                continue
            done.add(page)
            measured = visit(phone.page, url, 390)
            assert measured["status"] == 200 or not must_open, f"{role} {url}: {measured['status']}"
            walked.append(f"{role} {url}")
            if measured["scrollWidth"] > 390:
                problems.append(f"{role} {url}: {measured['scrollWidth']} px wide on a phone ({measured['wide']})")
            problems += [f"{role} {url}: {s}" for s in measured["small"]]
            kind = url if url.startswith("/tasks/") else key(url)
            if kind not in photographed:                        # each kind of page once, by the first role
                photographed.add(kind)
                what = phone.page.locator("h1").first.inner_text().split()[0] if url.startswith("/tasks/") else ""
                name = re.sub(r"[^\w-]+", "_", f"{role}-{key(url).strip('/') or 'todo'}-{what}").strip("_-")
                shot(phone.page, SHOTS / "phone" / f"{name}.png")
                phone.page.set_viewport_size(DESK["viewport"])           # the same page on a desk's screen
                wide = phone.page.evaluate(MEASURE, 1366)["scrollWidth"]
                if wide > 1366:
                    problems.append(f"{role} {url}: {wide} px wide at a desk")
                shot(phone.page, SHOTS / "desk" / f"{name}.png")
                phone.page.set_viewport_size(PHONE["viewport"])
            if depth < 2:
                links = phone.page.eval_on_selector_all("main a[href]", "links => links.map(a => a.getAttribute('href'))")
                queue += [(link, depth + 1, key(link), False) for link in links if not SKIP.search(link)]
        phone.close()
    assert len(walked) > 60, walked                          # the walk reached the pages, not a sign-in page
    assert {"/admin/catalogs/units", "/admin/catalogs/escalation", "/circular", "/supervision", "/monthly-report",
            "/patrol", "/hazards", "/messages", "/admin/processes/N/modeler", "/me/notices"} <= {key(w.split()[1]) for w in walked}
    assert not problems, "\n".join(problems)


def test_a_refusal_shows_in_red_and_a_success_in_green(server, browser):  # noqa: F811 - fixtures
    """A task someone else has done meanwhile: 提交 says 「该任务已办理或已撤销」 in a red alert box (flash
    category "error"); a submit that goes through says 已提交 in a green status box."""
    base, app = server
    api = Api(app)
    event = api.report(description="两人同时核实")
    staff = Person(browser, base, "staff1", PHONE, SHOTS / "flash")
    page = staff.page
    staff.open_task(event["number"], "核实")
    page.get_by_label("属实，属本社区").check()
    api.complete("staff1", event["id"], "verify", {"verdict": "accept"})         # done meanwhile elsewhere
    page.get_by_role("button", name="提交").click()
    refused = page.locator("p.flash")
    expect(refused).to_have_text("该任务已办理或已撤销")
    expect(refused).to_have_class(re.compile(r"\berror\b"))
    expect(refused).to_have_attribute("role", "alert")
    expect(refused).to_have_css("background-color", "rgb(253, 236, 234)")     # red, not the success green
    staff.shot("01-refused-red")
    staff.open_task(event["number"], "研判")
    page.get_by_label("交办社区干部/社工").check()
    staff.submit()
    done = page.locator("p.flash")
    expect(done).to_have_class(re.compile(r"\bsuccess\b"))
    expect(done).to_have_attribute("role", "status")
    expect(done).to_have_css("background-color", "rgb(230, 244, 234)")
    staff.shot("02-success-green")
    staff.close()


def test_patrol_offers_the_communitys_grids_and_a_typed_one_as_the_fallback(server, browser):  # noqa: F811
    """巡查打卡 on a phone: 网格 is a select of 新城社区's grids (the communities catalog), 44 px high; 其他网格
    opens a field to type one the catalog does not list yet."""
    base, app = server
    grid = Person(browser, base, "grid1", PHONE, SHOTS / "patrol", geolocation={"latitude": 27.52, "longitude": 120.60})
    page = grid.page
    page.get_by_role("link", name="巡查").click()
    page.wait_for_url("**/patrol")                  # and its load: a box measured before ui.css applies is 19 px
    select = page.get_by_label("网格", exact=True)
    expect(select.locator("option")).to_have_text(["请选择", "新城一网格", "新城二网格", "新城三网格", "其他网格（手动填写）"])
    assert select.bounding_box()["height"] >= 44
    expect(page.get_by_label("网格名称")).to_be_hidden()
    select.select_option("新城二网格")
    page.get_by_role("button", name="获取当前位置").click()
    expect(page.locator("#position")).to_contain_text("27.52")
    page.get_by_role("button", name="打卡").click()
    expect(page.locator("p.flash")).to_have_text("已打卡：新城二网格")
    page.get_by_label("网格", exact=True).select_option(label="其他网格（手动填写）")
    page.get_by_label("网格名称").fill("新城临时网格")
    grid.shot("01-other-grid")
    page.get_by_role("button", name="打卡").click()
    expect(page.locator("p.flash")).to_have_text("已打卡：新城临时网格")
    expect(page.get_by_test_id("my-patrols")).to_contain_text("新城临时网格")
    grid.close()


def test_no_exif_is_a_neutral_note_and_a_far_photo_a_warning(server, browser):  # noqa: F811 - fixtures
    base, app = server
    api = Api(app)
    event = api.report(description="照片提示")
    api.photo("grid1", event["id"])                                                   # no EXIF at all
    api.photo("grid1", event["id"], image(gps=(27.53, 120.60), taken_at="2026:10:08 08:40:00"))   # 1.1 km away
    staff = Person(browser, base, "staff1", PHONE, SHOTS / "photos")
    staff.page.goto(f"/events/{event['id']}")
    summary = staff.page.get_by_test_id("event-summary")
    expect(summary.locator(".flag.no_exif")).to_have_text("无拍摄信息")
    expect(summary.locator(".flag.no_exif")).to_have_css("color", "rgb(89, 99, 110)")    # --muted
    expect(summary.locator(".flag.far")).to_have_css("color", "rgb(217, 48, 37)")        # --red
    staff.close()


def test_the_event_diagram_opens_on_the_current_task_at_a_readable_scale_and_zooms(server, browser):  # noqa: F811
    """On a phone the diagram shows the current task (研判) at its middle at a scale of at least 0.5 (the whole
    of Figure 1 fitted in is 0.066); ＋ and 全图 and 当前环节 zoom; a two-finger pinch zooms in, one finger
    sideways pans."""
    base, app = server
    api = Api(app)
    event = api.report(description="流程图缩放")
    api.complete("staff1", event["id"], "verify", {"verdict": "accept"})
    staff = Person(browser, base, "staff1", PHONE, SHOTS / "diagram")
    page = staff.page
    page.goto(f"/events/{event['id']}")
    diagram = page.get_by_test_id("diagram")
    expect(diagram).to_have_attribute("data-ready", "1")
    expect(diagram).to_have_attribute("data-current", "analyse")

    def view():
        return page.evaluate("""() => { const c = window.eventflowDiagram.get('canvas'), v = c.viewbox();
            const t = window.eventflowDiagram.get('elementRegistry').get('analyse');
            return {scale: v.scale, x: v.x, y: v.y, width: v.width, height: v.height,
                    cx: t.x + t.width / 2, cy: t.y + t.height / 2}; }""")

    seen = view()
    assert 0.5 <= seen["scale"] <= 1, seen
    assert abs(seen["cx"] - (seen["x"] + seen["width"] / 2)) < seen["width"] * 0.05, seen     # centred
    assert abs(seen["cy"] - (seen["y"] + seen["height"] / 2)) < seen["height"] * 0.05, seen
    diagram.scroll_into_view_if_needed()
    staff.shot("01-current-task")
    tools = page.locator("[data-diagram-tools]")
    for button in tools.get_by_role("button").all():
        assert button.bounding_box()["height"] >= 44
    tools.get_by_role("button", name="放大").click()
    assert view()["scale"] > seen["scale"] * 1.2
    tools.get_by_role("button", name="全图").click()
    assert view()["scale"] < 0.2
    tools.get_by_role("button", name="当前环节").click()
    assert abs(view()["scale"] - seen["scale"]) < 0.01

    box = diagram.bounding_box()
    cdp = page.context.new_cdp_session(page)
    mid_x, mid_y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2

    def touch(kind, *points):
        cdp.send("Input.dispatchTouchEvent", {"type": kind, "touchPoints": [
            {"x": x, "y": y, "id": i} for i, (x, y) in enumerate(points)]})

    touch("touchStart", (mid_x - 40, mid_y), (mid_x + 40, mid_y))             # two fingers spread apart
    for step in range(1, 6):
        touch("touchMove", (mid_x - 40 - 12 * step, mid_y), (mid_x + 40 + 12 * step, mid_y))
    touch("touchEnd")
    pinched = view()
    assert pinched["scale"] > seen["scale"] * 1.5, pinched
    touch("touchStart", (mid_x + 60, mid_y))                                  # one finger sideways
    for step in range(1, 6):
        touch("touchMove", (mid_x + 60 - 20 * step, mid_y))
    touch("touchEnd")
    panned = view()
    assert panned["x"] > pinched["x"] and panned["scale"] == pinched["scale"], (pinched, panned)
    staff.shot("02-pinched")
    staff.close()
