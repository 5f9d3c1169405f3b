"""我的通知方式 on a 390 × 844 phone (issue #18), in Debian's Chromium against the real app on a real HTTP server: a
department clerk opens it from their name in the header, adds their own mailbox — refused first for half a
quiet-hours window (named in Chinese, what was typed kept) — sends a test notice that a real SMTP server
(aiosmtpd) receives once the worker's job runs, reads it 已送达 in their own log, opens 修改 and pauses the
channel. Every control at least 44 px, nothing sideways. Screenshots go to artifacts/browser/my_notices/."""
from __future__ import annotations

import shutil

from playwright.sync_api import expect

from engine import jobs
from engine.notices import delivery
import pytest

from tests.browser.test_browser import ARTIFACTS, PHONE, Person, served
from tests.browser.test_revisit_walk import fits_a_thumb
from tests.receivers import MailReceiver


@pytest.fixture(scope="module")
def server(tmp_path_factory, seeded_sqlite_template):
    """The app, with this machine's mail receiver allowed as a person's own channel (EVENTFLOW_OWN_CHANNEL_HOSTS:
    an inner host is refused by default, engine/notices/channel_edits.py)."""
    with served(tmp_path_factory.mktemp("browser"), seeded_sqlite_template, own_channel_hosts="127.0.0.1") as found:
        yield found


def test_a_clerk_sets_their_own_mailbox_on_a_phone(server, browser):
    base, app = server
    shots = ARTIFACTS / "my_notices"
    shutil.rmtree(shots, ignore_errors=True)
    mail = MailReceiver()
    clerk = Person(browser, base, "zhifa1", PHONE, shots)
    page = clerk.page
    try:
        page.get_by_test_id("me").click()                                 # the user menu: their own name
        expect(page.get_by_role("heading", name="我的通知方式")).to_be_visible()
        fits_a_thumb(page)
        form = page.get_by_test_id("add-channel")
        form.get_by_label("名称").fill("我的工作邮箱")
        form.get_by_label("地址").fill(mail.url("zhifa1@example.cn"))
        form.get_by_label("派单").check()
        form.get_by_label("免打扰开始").fill("22:00")
        form.get_by_role("button", name="添加").click()
        errors = page.get_by_test_id("errors")
        expect(errors).to_contain_text("「免打扰结束」")
        expect(form.get_by_label("名称")).to_have_value("我的工作邮箱")
        expect(form.get_by_label("派单")).to_be_checked()
        expect(form.get_by_label("免打扰开始")).to_have_value("22:00")
        fits_a_thumb(page)
        clerk.shot("01-refused-keeps-what-was-typed")
        form.get_by_label("免打扰结束").fill("07:00")
        form.get_by_role("button", name="添加").click()
        expect(page.locator("p.flash")).to_contain_text("已添加通知方式「我的工作邮箱」")
        channel = page.locator("section.channel")
        expect(channel).to_have_count(1)
        # a URL is a secret: only apprise's privacy form is shown (no query, passwords starred)
        expect(channel.get_by_test_id("shown-url")).to_have_text(delivery.shown_url(mail.url("zhifa1@example.cn")))
        expect(channel.get_by_test_id("shown-url")).not_to_contain_text("mode=insecure")
        expect(channel).to_contain_text("22:00–07:00")

        channel.get_by_role("button", name="发送测试").click()
        expect(page.locator("p.flash")).to_contain_text("测试通知已排队发送")
        svc = app.extensions["eventflow"]
        assert len(jobs.send_notices(svc.session_factory, svc.env)) == 1       # the worker's job, once
        (message,) = mail.messages
        assert message.to == ["zhifa1@example.cn"] and "测试" in message.subject
        page.reload()
        row = page.get_by_test_id("deliveries").locator("tr[data-delivery]")
        expect(row).to_have_count(1)
        expect(row).to_have_attribute("data-status", "sent")
        expect(row).to_contain_text("已送达")
        fits_a_thumb(page)
        clerk.shot("02-test-sent")

        channel = page.locator("section.channel")
        channel.locator("summary", has_text="修改").click()
        edit = channel.get_by_test_id("edit-channel")
        expect(edit.get_by_label("地址")).to_have_value("")              # the stored URL is never put back
        expect(edit.get_by_label("名称")).to_have_value("我的工作邮箱")
        fits_a_thumb(page)
        clerk.shot("03-edit")
        channel.get_by_role("button", name="暂停").click()
        expect(page.locator("p.flash")).to_contain_text("已暂停")
        expect(page.locator("section.channel")).to_have_attribute("data-enabled", "false")
        expect(page.locator("section.channel").get_by_role("button", name="发送测试")).to_be_disabled()
        expect(page.locator("section.channel").get_by_role("button", name="恢复")).to_be_visible()
        clerk.shot("04-paused")
    finally:
        clerk.close()
        mail.close()
