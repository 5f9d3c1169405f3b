"""上报 in the field on a 390×844 phone (issue #20, docs/offline.md): a refused report keeps its photo and then
goes through with it; Back and 上报 again shows the event already made; photos are shrunk on the phone before
they are sent, keeping their 拍摄信息; a report made without signal is kept on the phone, listed as 待发送, and
sent when the signal is back; a page opened over plain HTTP says GPS and the camera need HTTPS and offers the
map pin. Screenshots under artifacts/field/."""
from __future__ import annotations

import io
import re

from PIL import Image
from playwright.sync_api import expect
from sqlalchemy import func, select

from engine.store.models import Event, Photo
from tests.browser.refusals import watch
from tests.browser.test_browser import ARGS, CHROMIUM, PHONE, ROOT, Person, photo_bytes, server  # noqa: F401
from tests.conftest import PASSWORD
from tests.samples import image
from tests.web.client import Api

SHOTS = ROOT / "artifacts" / "field"


def _count(app, model, *where):
    svc = app.extensions["eventflow"]
    return svc.read(lambda s: s.scalar(select(func.count()).select_from(model).where(*where)))


def _fill(page, description, photo=None):
    page.get_by_label("事件类型").select_option("A05")
    page.get_by_label("问题描述").fill(description)
    page.get_by_label("事发地址").fill("龙港市新城大道 88 号")
    if photo is not None:
        page.get_by_label("现场照片").set_input_files([{"name": "scene.jpg", "mimeType": "image/jpeg",
                                                      "buffer": photo}])


def _shot(person, name):
    person.page.evaluate("window.scrollTo(0, 0)")       # the sticky header at the top of the full page
    person.shot(name)


def _number(page) -> str:
    return re.search(r"LG-\d{8}-\d{4}", page.locator("p.flash").inner_text()).group(0)


def test_a_refused_report_keeps_its_photo_and_then_goes_through_with_it(server, browser):  # noqa: F811
    base, app = server
    grid = Person(browser, base, "grid1", PHONE, SHOTS / "refused")
    page = grid.page
    page.goto("/report")
    expect(page.get_by_test_id("insecure")).to_be_hidden()            # 127.0.0.1 is a secure origin
    _fill(page, "拒收后保留照片：人行道占道经营", photo_bytes((200, 120, 40)))
    page.get_by_label("电话").fill("12")                         # the server refuses it (too short a number)
    page.get_by_role("button", name="上报", exact=True).click()
    expect(page.get_by_test_id("report-refused")).to_be_visible()
    expect(page.locator("[data-place=contact] p.error")).to_have_count(1)   # named under its field
    expect(page).to_have_url(re.compile(r"/report$"))
    assert page.get_by_label("现场照片").evaluate("input => input.files.length") == 1   # the photo is still chosen
    expect(page.get_by_label("问题描述")).to_have_value("拒收后保留照片：人行道占道经营")
    _shot(grid, "01-refused-photo-kept")
    assert _count(app, Event, Event.description == "拒收后保留照片：人行道占道经营") == 0
    page.get_by_label("电话").fill("13800001111")
    page.get_by_role("button", name="上报", exact=True).click()
    expect(page.locator("p.flash")).to_contain_text("已上报")
    expect(page.get_by_test_id("event-summary").locator("img")).to_have_count(1)
    _shot(grid, "02-sent-with-its-photo")
    event_id = int(page.url.rsplit("/", 1)[1])
    assert _count(app, Photo, Photo.event_id == event_id) == 1
    grid.close()


def test_back_and_report_again_shows_the_event_already_made(server, browser):  # noqa: F811
    base, app = server
    grid = Person(browser, base, "grid1", PHONE, SHOTS / "resubmit")
    page = grid.page
    page.get_by_role("link", name="上报").click()
    _fill(page, "返回后再次上报：路灯不亮", photo_bytes((40, 90, 200)))
    page.get_by_role("button", name="上报", exact=True).click()
    expect(page.locator("p.flash")).to_contain_text("已上报")
    number, event_url = _number(page), page.url
    page.go_back()                                              # Back to the form, as it was sent
    expect(page).to_have_url(re.compile(r"/report$"))
    expect(page.get_by_test_id("already-sent")).to_contain_text(number)
    expect(page.get_by_label("问题描述")).to_have_value("返回后再次上报：路灯不亮")
    _shot(grid, "01-back-to-the-form")
    page.get_by_role("button", name="上报", exact=True).click()  # and 上报 again
    expect(page.locator("p.flash")).to_contain_text(f"该事件已上报，编号 {number}")
    assert page.url == event_url
    _shot(grid, "02-the-same-event")
    assert _count(app, Event, Event.description == "返回后再次上报：路灯不亮") == 1
    page.get_by_role("link", name="上报").click()                # a new visit is a new report
    expect(page.get_by_test_id("already-sent")).to_be_hidden()
    grid.close()


def _large_photo() -> bytes:
    """A phone camera's photo: 4032×3024, detailed, JPEG quality 95, with its EXIF 拍摄时间 and GPS."""
    small = Image.open(io.BytesIO(image(taken_at="2026:10:08 08:30:00", offset="+08:00", gps=(27.52, 120.60))))
    exif = small.getexif()
    noise = Image.effect_noise((4032, 3024), 48).convert("RGB")
    gradient = Image.linear_gradient("L").resize((4032, 3024)).convert("RGB")
    out = io.BytesIO()
    Image.blend(noise, gradient, 0.5).save(out, "JPEG", quality=95, exif=exif)
    return out.getvalue()


def test_a_large_photo_is_shrunk_on_the_phone_and_keeps_its_exif(server, browser):  # noqa: F811
    base, app = server
    large = _large_photo()
    grid = Person(browser, base, "grid1", PHONE, SHOTS / "shrink")
    page = grid.page
    page.goto("/report")
    _fill(page, "大照片压缩后上报", large)
    expect(page.get_by_test_id("shrink-photos")).to_contain_text("照片已压缩")
    shrunk = page.get_by_label("现场照片").evaluate("input => input.files[0].size")
    assert shrunk < len(large) / 2
    _shot(grid, "01-shrunk")
    page.get_by_role("button", name="上报", exact=True).click()
    expect(page.locator("p.flash")).to_contain_text("已上报")
    event = Api(app).event(int(page.url.rsplit("/", 1)[1]))
    [photo] = event["photo_files"]
    assert photo["bytes"] == shrunk and photo["bytes"] < len(large) / 2
    assert max(photo["width"], photo["height"]) == 1920 and photo["width"] > photo["height"]
    assert photo["taken_at"].startswith("2026-10-08T08:30:00") and photo["gps"] is not None   # 拍摄信息 kept
    assert abs(photo["gps"]["lat"] - 27.52) < 1e-4 and abs(photo["gps"]["lng"] - 120.60) < 1e-4
    grid.close()


def test_a_report_made_without_signal_is_kept_listed_and_sent_when_the_signal_is_back(server, browser):  # noqa: F811
    base, app = server
    grid = Person(browser, base, "grid1", PHONE, SHOTS / "offline", geolocation={"latitude": 27.52, "longitude": 120.60})
    page, context = grid.page, grid.context
    page.get_by_role("link", name="上报").click()
    # the service worker is in charge of the page and keeps the 上报 page (the app shell) for without signal
    page.evaluate("navigator.serviceWorker.ready.then(() => true)")
    page.reload()
    page.wait_for_function("() => navigator.serviceWorker.controller !== null")
    page.wait_for_function("() => caches.match('/report').then(r => !!r)")

    context.set_offline(True)                                       # in the basement
    page.reload()                                                   # the page opens without signal
    expect(page.get_by_role("heading", name="上报事件")).to_be_visible()
    _fill(page, "地下室没有信号：消防通道堆放杂物", photo_bytes((30, 160, 120)))
    page.get_by_role("button", name="获取当前位置").click()          # GPS needs no signal
    expect(page.get_by_label("纬度")).to_have_value("27.520000")
    page.get_by_role("button", name="上报", exact=True).click()
    expect(page.get_by_test_id("report-progress")).to_contain_text("已保存在本机「待发送」")
    drafts = page.get_by_test_id("drafts")
    expect(drafts.locator("[data-testid=draft][data-state=waiting]")).to_have_count(1)
    expect(drafts).to_contain_text("地下室没有信号：消防通道堆放杂物")
    expect(drafts).to_contain_text("照片 1 张")
    expect(page.get_by_test_id("draft-count")).to_have_text("1")   # the 上报 link says one is waiting
    expect(page.get_by_label("问题描述")).to_have_value("")        # a new form for the next report
    _shot(grid, "01-kept-waiting")
    page.goto("/events")                                            # another page: the offline page leads to 上报
    expect(page.get_by_test_id("offline-page")).to_be_visible()
    _shot(grid, "02-offline-page")
    page.goto("/report")
    expect(drafts.locator("[data-testid=draft][data-state=waiting]")).to_have_count(1)   # kept on the phone
    assert _count(app, Event, Event.description == "地下室没有信号：消防通道堆放杂物") == 0

    context.set_offline(False)                                      # the signal is back: sent by itself
    sent = drafts.locator("[data-testid=draft][data-state=sent]")
    expect(sent).to_have_count(1)
    number = re.search(r"LG-\d{8}-\d{4}", sent.inner_text()).group(0)
    expect(page.get_by_test_id("draft-count")).to_be_hidden()
    _shot(grid, "03-sent")
    page.get_by_test_id("drafts").get_by_role("link", name=number).click()
    expect(page.get_by_test_id("event-summary").locator("img")).to_have_count(1)   # with its photo
    expect(page.get_by_test_id("drafted-at")).to_contain_text("离线填写于")         # and when it was made
    _shot(grid, "04-the-event")
    event_id = int(page.url.rsplit("/", 1)[1])
    svc = app.extensions["eventflow"]
    event = svc.read(lambda s: s.get(Event, event_id))
    assert event.number == number and (event.lat, event.lng) == (27.52, 120.6)     # where it was made
    assert _count(app, Photo, Photo.event_id == event_id) == 1
    page.goto("/report")                                            # once only: sending again changes nothing
    page.evaluate("window.eventflowDrafts.sendNow()")
    expect(page.get_by_test_id("drafts").locator("[data-testid=draft][data-state=sent]")).to_have_count(1)
    assert _count(app, Event, Event.description == "地下室没有信号：消防通道堆放杂物") == 1
    assert page.evaluate("caches.has('eventflow-pages')")
    page.get_by_role("button", name="退出").click()                 # signing out forgets the kept pages
    expect(page.get_by_label("用户名")).to_be_visible()
    assert not page.evaluate("caches.has('eventflow-pages')")
    # a session that ends without signing out: the next to sign in on this phone never gets the kept page
    page.get_by_label("用户名").fill("grid1")
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    page.goto("/report")
    page.wait_for_function("() => caches.match('/report').then(r => !!r)")
    grid.context.clear_cookies()
    page.goto("/login")
    page.get_by_label("用户名").fill("staff1")
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    expect(page.get_by_role("heading", name=re.compile("待办"))).to_be_visible()
    assert not page.evaluate("caches.match('/report').then(r => !!r)")            # grid1's page is gone
    grid.close()


def test_over_plain_http_the_page_says_gps_needs_https_and_offers_the_map_pin(server, browser):  # noqa: F811
    """The same server under a name that is not localhost, over http://: not a secure origin for the browser."""
    base, app = server
    port = base.rsplit(":", 1)[1]
    plain = watch(browser.browser_type.launch(executable_path=CHROMIUM, headless=True,
                                              args=[*ARGS, "--host-resolver-rules=MAP field.test 127.0.0.1"]))
    plain.refused = browser.refused                    # checked after the test (tests/browser/conftest.py)
    try:
        grid = Person(plain, f"http://field.test:{port}", "grid1", PHONE, SHOTS / "plain_http",
                      geolocation={"latitude": 27.52, "longitude": 120.60})
        page = grid.page
        page.get_by_role("link", name="上报").click()
        assert page.evaluate("window.isSecureContext") is False
        expect(page.get_by_test_id("insecure")).to_contain_text("HTTPS")             # said plainly
        expect(page.get_by_role("button", name="获取当前位置")).to_be_hidden()          # the browser would refuse it
        page.get_by_role("button", name="在地图上选点").click()
        expect(page.get_by_test_id("pick-map")).to_have_attribute("data-ready", "1")   # the community's boundary
        page.get_by_test_id("pick-map").click()                                         # a tap in its middle
        expect(page.get_by_test_id("pick-map")).to_have_attribute("data-picked", re.compile(r"^27\.\d+,120\.\d+$"))
        lat, lng = float(page.get_by_label("纬度").input_value()), float(page.get_by_label("经度").input_value())
        _fill(page, "HTTP 下在地图上选点上报")
        _shot(grid, "01-plain-http-map-pin")
        page.get_by_role("button", name="上报", exact=True).click()
        expect(page.locator("p.flash")).to_contain_text("已上报")
        event = app.extensions["eventflow"].read(lambda s: s.get(Event, int(page.url.rsplit("/", 1)[1])))
        assert (event.lat, event.lng) == (lat, lng) and event.community == "lg-xincheng"   # placed where tapped
        _shot(grid, "02-reported")
        grid.close()
    finally:
        plain.close()


def test_a_kept_report_refused_on_arrival_is_opened_again_photos_and_all(server, browser):  # noqa: F811
    base, app = server
    grid = Person(browser, base, "grid1", PHONE, SHOTS / "refused_on_arrival")
    page, context = grid.page, grid.context
    page.goto("/report")
    context.set_offline(True)
    _fill(page, "离线填写、到达后被退回：井盖缺失", photo_bytes((220, 200, 40)))
    page.get_by_label("电话").fill("12")                             # refused only when it reaches the server
    page.get_by_role("button", name="上报", exact=True).click()
    drafts = page.get_by_test_id("drafts")
    expect(drafts.locator("[data-testid=draft][data-state=waiting]")).to_have_count(1)
    context.set_offline(False)
    refused = drafts.locator("[data-testid=draft][data-state=refused]")
    expect(refused).to_contain_text("未通过")
    _shot(grid, "01-refused-on-arrival")
    refused.get_by_role("button", name="打开修改").click()            # back into the form, photo and all
    expect(page.get_by_label("问题描述")).to_have_value("离线填写、到达后被退回：井盖缺失")
    expect(page.locator("[data-place=contact] p.error")).to_have_count(1)
    assert page.get_by_label("现场照片").evaluate("input => input.files.length") == 1
    page.get_by_label("电话").fill("13800002222")
    page.get_by_role("button", name="上报", exact=True).click()
    expect(page.locator("p.flash")).to_contain_text("已上报")
    expect(page.get_by_test_id("event-summary").locator("img")).to_have_count(1)
    expect(page.get_by_test_id("drafted-at")).to_contain_text("离线填写于")      # made when it was first kept
    page.get_by_role("link", name="上报").click()
    expect(page.get_by_test_id("drafts")).to_be_hidden()              # nothing left waiting
    assert _count(app, Event, Event.description == "离线填写、到达后被退回：井盖缺失") == 1
    grid.close()


def test_get_position_works_from_the_moment_it_can_be_tapped(server, browser):  # noqa: F811
    """获取当前位置 on 巡查打卡 and 上报 comes disabled and is enabled by its script once it listens: a tap on a page
    whose script had not run yet did nothing (a loaded box clicked it that early in one suite run). Each page's
    script is held back here until the button has been seen disabled."""
    base, _app = server
    # (no service worker: the scripts it keeps would not pass through the page's routes)
    grid = Person(browser, base, "grid1", {**PHONE, "service_workers": "block"}, SHOTS / "locate_early",
                  geolocation={"latitude": 27.52, "longitude": 120.60})
    page, held = grid.page, []
    for path, script, filled in (("/patrol", "patrol.js", "#position"), ("/report", "report.js", "#lat")):
        url = re.compile(rf"/static/{re.escape(script)}(\?.*)?$")      # (with its version, if any)
        page.route(url, lambda route: held.append(route))
        with page.expect_request(url):
            page.goto(path, wait_until="commit")
        button = page.get_by_role("button", name="获取当前位置")
        expect(button).to_be_disabled()                 # in the page, its script not run
        for _ in range(100):                            # the held request reaches its handler as Playwright works
            if held:
                break
            page.evaluate("0")
        held.pop().continue_()
        page.unroute(url)
        expect(button).to_be_enabled()
        button.click()
        if filled == "#position":
            expect(page.locator(filled)).to_contain_text("27.52")
        else:
            expect(page.locator(filled)).to_have_value("27.520000")
    grid.close()
