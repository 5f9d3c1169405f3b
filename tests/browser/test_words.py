"""Refusals a person reads, in a real browser on a 390×844 phone (issue #20): on six forms — 上报, the task forms
研判 and 处置反馈, the unit editor, the account editor, the working calendar and the sign-in page — every visible
validation message is Chinese, and after the language switch English; a refused 处置反馈 keeps its photo and
then goes through with it. Screenshots under artifacts/words/.

"Chinese" is checked precisely (`said_in_chinese`): the text holds Chinese characters and, once the codes a
message may name are taken out (a Table A.1/B.1 code such as A05, an event number LG-…), no run of three or more
latin letters — no English word. "English" (`said_in_english`): no Chinese character at all."""
from __future__ import annotations

import re
import shutil

from playwright.sync_api import expect

from tests.browser.test_browser import ARTIFACTS, PHONE, Person, photo_bytes, server  # noqa: F401
from tests.web.client import Api

SHOTS = ARTIFACTS.parent / "words"
CJK = re.compile(r"[\u4e00-\u9fff]")
CODES = re.compile(r"\b[AB]\d{2,}\b|LG-\d+-\d+")
LATIN_WORD = re.compile(r"[A-Za-z]{3,}")


def said_in_chinese(text: str) -> bool:
    return bool(CJK.search(text)) and not LATIN_WORD.search(CODES.sub("", text))


def said_in_english(text: str) -> bool:
    return bool(LATIN_WORD.search(text)) and not CJK.search(text)


def visible_errors(page) -> list[str]:
    """The text of every visible `.error` on the page (a reason beside a field, a form's error card)."""
    shown = page.locator(".error:visible")
    expect(shown.first).to_be_visible()
    return [text.strip() for text in shown.all_inner_texts() if text.strip()]


def all_chinese(page, form: str) -> list[str]:
    texts = visible_errors(page)
    assert texts and all(said_in_chinese(t) for t in texts), (form, texts)
    return texts


def all_english(page, form: str) -> list[str]:
    texts = visible_errors(page)
    assert texts and all(said_in_english(t) for t in texts), (form, texts)
    return texts


def to_language(page, name: str):
    page.locator("footer").get_by_role("button", name=name).click()
    page.wait_for_load_state()


def test_every_visible_refusal_on_six_forms_is_chinese_and_english_after_the_switch(server, browser):
    base, app = server
    shutil.rmtree(SHOTS, ignore_errors=True)
    api = Api(app)

    # 上报: a phone number too short, a position out of range
    grid = Person(browser, base, "grid1", PHONE, SHOTS)
    page = grid.page

    def refused_report():
        page.goto("/report")
        page.locator("#type_code").select_option("A05")
        page.locator("#description").fill("新城大道人行道被占道经营")
        page.locator("#address").fill("龙港市新城大道 88 号")
        page.locator("#lat").fill("91")
        page.locator("#lng").fill("200")
        page.locator("#contact_phone").fill("12")
        page.locator("form.report button[type=submit]").click()
        page.wait_for_load_state()
    refused_report()
    texts = all_chinese(page, "上报")
    assert "「事发地点」的「纬度」不能大于 90" in texts and "「事发地点」的「经度」不能大于 180" in texts, texts
    assert any(t.startswith("「联系人」的「电话」") for t in texts), texts
    grid.shot("01-report-refused")
    to_language(page, "English")
    refused_report()
    all_english(page, "report")
    grid.shot("01-report-refused-en")
    grid.close()

    # 研判: 交办下沉部门人员 with no unit chosen — shown beside the field by the page's script, nothing reloaded
    event = api.report(description="楼道堆放杂物，存在消防隐患")
    api.complete("staff1", event["id"], "verify", {"verdict": "accept"})
    staff = Person(browser, base, "staff1", PHONE, SHOTS)
    page = staff.page
    staff.open_task(event["number"], "研判")
    page.get_by_label("交办下沉部门人员").check()
    page.get_by_label("研判意见").fill("需下沉民警协助")
    page.get_by_role("button", name="提交").click()
    expect(page.get_by_test_id("form-refused")).to_be_visible()
    texts = all_chinese(page, "研判")
    assert "「承办的下沉单位」为必填项，请选择" in texts, texts
    expect(page.get_by_label("研判意见")).to_have_value("需下沉民警协助")        # what was typed stays
    staff.shot("02-analyse-refused")
    to_language(page, "English")
    page.get_by_label("交办下沉部门人员").check()
    page.get_by_role("button", name="Submit").click() if page.get_by_role("button", name="Submit").count() \
        else page.locator("form.taskform button[type=submit]").click()
    expect(page.get_by_test_id("form-refused")).to_be_visible()
    assert "stationed_unit: required" in all_english(page, "analyse")
    staff.shot("02-analyse-refused-en")
    staff.close()

    # the unit editor: 执法局 deleted while Table A.1, B.1, its 中队 and the duty roster still name it
    admin = Person(browser, base, "admin1", PHONE, SHOTS)
    page = admin.page

    def refused_units():
        page.goto("/admin/catalogs/units")
        page.locator("tr[data-unit=zhifa] input[name$='.delete']").check()
        page.locator("form.catalog button[type=submit]").click()
        page.wait_for_load_state()
    refused_units()
    all_chinese(page, "单位")
    lines = page.get_by_test_id("errors").locator("li").all_inner_texts()
    assert any(t.startswith("附录A 表A.1中") and "等 13 行的「主管部门」" in t for t in lines), lines
    assert len(lines) <= 6, lines
    admin.shot("03-units-refused")

    # the account editor: a username taken, no password, no role
    def refused_account():
        page.goto("/admin/users")
        page.locator("#username").fill("grid1")
        page.locator("#display_name").fill("新来的网格员")
        page.locator("form[action$='/admin/users'] button[type=submit]").click()
        page.wait_for_load_state()
    refused_account()
    texts = all_chinese(page, "账号")          # the card, and each reason again beside its field
    assert "「用户名」已被其他账号使用：请换一个" in texts and "「角色」请至少勾选一个" in texts, texts
    admin.shot("04-account-refused")

    # the working calendar: a date typed with slashes
    def refused_calendar():
        page.goto("/admin/catalogs/calendar")
        year = page.locator("fieldset.year").last
        year.locator("input[name$='.year']").fill("2031")
        year.locator("textarea[name$='.holidays']").fill("2031/10/01")
        page.locator("form.catalog button[type=submit]").click()
        page.wait_for_load_state()
    refused_calendar()
    all_chinese(page, "工作日历")
    lines = page.get_by_test_id("errors").locator("li").all_inner_texts()
    assert lines == ["「2031 年」的「放假日期（工作日）」第 1 项应为日期，如 2026-10-01（现为“2031/10/01”）"], lines
    admin.shot("05-calendar-refused")

    to_language(page, "English")
    for refuse, form in ((refused_units, "units"), (refused_account, "account"), (refused_calendar, "calendar")):
        refuse()
        all_english(page, form)
        admin.shot(f"06-{form}-refused-en")
    admin.close()

    # the sign-in page
    context = browser.new_context(base_url=base, **PHONE)
    page = context.new_page()
    page.goto("/login")
    page.get_by_label("用户名").fill("grid1")
    page.get_by_label("密码").fill("wrong-password")
    page.get_by_role("button", name="登录").click()
    assert all_chinese(page, "登录") == ["用户名或密码错误"]
    page.screenshot(path=str(SHOTS / "07-sign-in-refused.png"), full_page=True)
    to_language(page, "English")
    page.locator("input[name=username]").fill("grid1")
    page.locator("input[name=password]").fill("wrong-password")
    page.get_by_role("button", name="Sign in").click()
    all_english(page, "sign-in")
    context.close()


def test_a_refused_task_form_keeps_its_photo_and_then_goes_through_with_it(server, browser):
    base, app = server
    api = Api(app)
    event = api.report(description="路边垃圾堆积，需清运")
    api.whistle_to(event["id"])
    api.complete("zhifa1", event["id"], "accept_whistle", {"decision": "accept"})
    clerk = Person(browser, base, "zhifa1", PHONE, SHOTS)
    page = clerk.page
    clerk.open_task(event["number"], "处置反馈")
    page.get_by_label("处置后照片").set_input_files([{"name": "after.jpg", "mimeType": "image/jpeg",
                                                   "buffer": photo_bytes((90, 170, 90))}])
    page.get_by_role("button", name="提交").click()         # neither a summary nor before *and* after photos
    expect(page.get_by_test_id("form-refused")).to_be_visible()
    texts = all_chinese(page, "处置反馈")
    assert "请至少填写其一：「处置结果」 或 「处置前照片」、「处置后照片」" in texts, texts
    assert page.get_by_label("处置后照片").evaluate("input => input.files.length") == 1     # the photo stays chosen
    clerk.shot("08-feedback-refused-photo-kept")
    page.get_by_label("处置结果").fill("已清运完毕，路面已冲洗")
    page.get_by_role("button", name="提交").click()
    expect(page.locator("p.flash")).to_contain_text("已提交「处置反馈」")
    clerk.shot("09-feedback-accepted")
    clerk.close()
    record = api.get(f"/api/events/{event['id']}", "staff1").json["record"]
    done = [step for step in record if step["form_title"] == "处置反馈"]
    assert done, record
    said = {field["name"]: field["value"] for field in done[-1]["fields"]}
    assert said["result_summary"] == "已清运完毕，路面已冲洗" and len(said["after_photos"]) == 1, said   # the photo kept
