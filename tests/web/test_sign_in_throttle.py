"""A password cannot be guessed without end (issue #17, safe by default; engine/accounts/sign_in.py): after
five refused sign-ins of one name from one client, or thirty of any names, that client is refused (429, with
Retry-After) before its password is even checked, until the window (15 minutes, wall clock) has passed; the
account's owner still signs in from elsewhere. The API and the sign-in page alike; behind a proxy the client
is the address it forwards, and only then."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import text

from engine.accounts import sign_in as sign_in_module, users
from engine.core.clock import SimulatedClock
from engine.core.config import Settings
from engine.core.errors import Unauthorized
from tests.conftest import PASSWORD
from tests.web.conftest import build_app
from tests.web.test_notice_channels import csrf

TOKEN = "/api/auth/token"
ELSEWHERE = {"REMOTE_ADDR": "10.0.0.2"}


def wall(app) -> SimulatedClock:
    """The app's wall clock (tokens, the throttle), made one the test moves."""
    svc = app.extensions["eventflow"]
    svc.env.wall_clock = SimulatedClock(svc.env.wall_clock.now())
    return svc.env.wall_clock


def sign_in(client, username, password, **kw):
    return client.post(TOKEN, json={"username": username, "password": password}, **kw)


def test_a_guessed_password_is_refused_after_five_tries_even_the_right_one_until_the_window_passes(app):
    clock, client = wall(app), app.test_client()
    for _ in range(5):
        r = sign_in(client, "grid1", "guess-1234")
        assert r.status_code == 401 and r.json["field"] == "password"
    r = sign_in(client, "grid1", PASSWORD)                               # the right one: not even checked
    assert r.status_code == 429 and r.json["error"] == "too_many_attempts" and r.json["field"] == "password"
    assert r.json["retry_after"] == 900 and r.headers["Retry-After"] == "900"
    assert r.json["message_zh"] == "登录失败次数过多，请15分钟后再试"
    assert r.json["message_en"] == "too many failed sign-ins: try again in 15 min"
    assert sign_in(client, "staff1", PASSWORD).status_code == 200        # another account from the same client
    assert sign_in(client, "grid1", PASSWORD, environ_base=ELSEWHERE).status_code == 200   # the owner, elsewhere

    clock.set(clock.now() + timedelta(seconds=899))
    r = sign_in(client, "grid1", PASSWORD)                               # refusals while refused are not kept
    assert r.status_code == 429 and r.headers["Retry-After"] == "1" and "1分钟" in r.json["message_zh"]
    clock.set(clock.now() + timedelta(seconds=1))
    assert sign_in(client, "grid1", PASSWORD).status_code == 200


def test_the_oldest_refusal_leaving_the_window_lets_the_client_try_again(app):
    clock, client = wall(app), app.test_client()
    for _ in range(5):
        assert sign_in(client, "grid1", "guess-1234").status_code == 401
        clock.set(clock.now() + timedelta(minutes=2))                    # the first at 0, the fifth at 8 minutes
    r = sign_in(client, "grid1", PASSWORD)                               # at 10 minutes
    assert r.status_code == 429 and r.json["retry_after"] == 300 and "5分钟" in r.json["message_zh"]
    clock.set(clock.now() + timedelta(minutes=5))                        # the first has left the window
    assert sign_in(client, "grid1", "guess-1234").status_code == 401     # one more try, kept
    assert sign_in(client, "grid1", PASSWORD).status_code == 429         # five again in the window


def test_a_sign_in_that_succeeds_forgets_that_names_refusals(app):
    client = app.test_client()
    wall(app)
    for _ in range(4):
        assert sign_in(client, "grid1", "guess-1234").status_code == 401
    assert sign_in(client, "grid1", PASSWORD).status_code == 200
    for _ in range(4):                                                   # counted from nothing again
        assert sign_in(client, "grid1", "guess-1234").status_code == 401
    assert sign_in(client, "grid1", PASSWORD).status_code == 200


def test_one_client_trying_many_names_is_refused_after_thirty(app):
    clock, client = wall(app), app.test_client()
    before = users._stand_in.cache_info()
    for n in range(30):                                                  # names that do not exist, and one that does
        r = sign_in(client, f"nobody{n}" if n % 10 else "grid1", "guess-1234")
        assert r.status_code == 401 and r.json["message_zh"] == "用户名或密码错误"   # the same answer for both
        clock.set(clock.now() + timedelta(seconds=10))                   # the 1st at 0 s … the 30th at 290 s
    assert users._stand_in.cache_info().hits + users._stand_in.cache_info().misses > before.hits + before.misses
    r = sign_in(client, "staff1", PASSWORD)                              # at 300 s
    assert r.status_code == 429 and r.json["retry_after"] == 600         # when the 1st leaves the window, at 900 s
    assert sign_in(client, "staff1", PASSWORD, environ_base=ELSEWHERE).status_code == 200
    clock.set(clock.now() + timedelta(seconds=599))
    assert sign_in(client, "staff1", PASSWORD).status_code == 429
    clock.set(clock.now() + timedelta(seconds=1))
    assert sign_in(client, "staff1", PASSWORD).status_code == 200


def test_an_ipv6_client_is_counted_by_its_64_and_an_ipv4_one_given_as_ipv6_as_itself(app):
    wall(app)
    client = app.test_client()
    for n in range(5):                                                   # a new address of one /64 for each try
        r = sign_in(client, "grid1", "guess-1234", environ_base={"REMOTE_ADDR": f"2001:db8:1:2::{n + 1:x}"})
        assert r.status_code == 401
    r = sign_in(client, "grid1", PASSWORD, environ_base={"REMOTE_ADDR": "2001:db8:1:2:ffff::9"})
    assert r.status_code == 429
    assert sign_in(client, "grid1", PASSWORD, environ_base={"REMOTE_ADDR": "2001:db8:1:3::1"}).status_code == 200
    for _ in range(5):
        assert sign_in(client, "staff1", "guess-1234", environ_base={"REMOTE_ADDR": "::ffff:192.0.2.8"}).status_code == 401
    assert sign_in(client, "staff1", PASSWORD, environ_base={"REMOTE_ADDR": "192.0.2.8"}).status_code == 429


def test_the_throttles_settings_are_checked_at_start():
    for name, value in (("EVENTFLOW_SIGN_IN_PER_ACCOUNT", "0"), ("EVENTFLOW_SIGN_IN_PER_CLIENT", "0"),
                        ("EVENTFLOW_SIGN_IN_WINDOW_S", "0"), ("EVENTFLOW_PROXIES", "-1")):
        with pytest.raises(ValueError, match=name):
            Settings.from_env(env={name: value})


def test_the_sign_in_page_is_throttled_and_says_when_to_try_again(app):
    wall(app)
    page = app.test_client()
    for _ in range(5):
        r = page.post("/login", data={"csrf_token": csrf(page, "/login"), "username": "staff1", "password": "guess-1"})
        assert r.status_code == 401 and "用户名或密码错误" in r.get_data(as_text=True)
    r = page.post("/login", data={"csrf_token": csrf(page, "/login"), "username": "staff1", "password": PASSWORD})
    html = r.get_data(as_text=True)
    assert r.status_code == 429 and r.headers["Retry-After"] == "900"
    assert "登录失败次数过多，请15分钟后再试" in html and 'value="staff1"' in html   # what was typed is kept
    page.post("/language", data={"csrf_token": csrf(page, "/login"), "lang": "en", "next": "/login"})
    r = page.post("/login", data={"csrf_token": csrf(page, "/login"), "username": "staff1", "password": PASSWORD})
    assert r.status_code == 429 and "Too many failed sign-ins: try again in 15 min" in r.get_data(as_text=True)
    r = sign_in(app.test_client(), "staff1", PASSWORD)                   # the API counts the page's refusals too
    assert r.status_code == 429


def test_behind_a_proxy_the_client_is_the_forwarded_address_and_only_then(settings, seeded, caplog):
    for proxies, spoofed in ((1, 200), (0, 429)):
        settings.proxies = proxies
        app = build_app(settings)
        wall(app)
        client = app.test_client()
        for _ in range(5):
            r = sign_in(client, "zhifa1", "guess-1234", headers={"X-Forwarded-For": "203.0.113.7"})
            assert r.status_code == 401
        r = sign_in(client, "zhifa1", PASSWORD, headers={"X-Forwarded-For": "203.0.113.7"})
        assert r.status_code == 429                                       # the guesser, refused
        # another address in the header: another client behind the proxy; with no proxy, a header anyone can write
        assert sign_in(client, "zhifa1", PASSWORD, headers={"X-Forwarded-For": "198.51.100.9"}).status_code == spoofed
        # a proxy the settings do not name: said once in the log
        assert (sum("EVENTFLOW_PROXIES is 0" in m for m in caplog.messages) == 1) is (proxies == 0)
        svc = app.extensions["eventflow"]
        svc.run(lambda s: s.execute(text("DELETE FROM sign_in_failure")))
        svc.db.dispose()


def test_a_password_reset_between_the_check_and_the_token_refuses_the_sign_in(app, api):
    """The password is checked in a read, the token made in a write after it (engine/accounts/sign_in.py): an
    administrator's reset (or disabling) committed in between, which ends the account's tokens, is not undone
    by a token made with the old password."""
    svc = app.extensions["eventflow"]
    throttle, clock = sign_in_module.Throttle(), svc.env.wall_clock
    grid1 = next(u for u in api.get("/api/users", "admin1").json["items"] if u["username"] == "grid1")
    for change in ({"password": "a-new-password-1"}, {"active": False}):
        checked = svc.read(lambda s: sign_in_module.check(s, clock, "grid1", PASSWORD, "192.0.2.1", throttle, 1024))
        assert not isinstance(checked, Exception)                        # the old password was right, then
        assert api.client.patch(f"/api/users/{grid1['id']}", headers=api.headers("admin1"), json=change).status_code == 200
        found = svc.run(lambda s, c=checked: sign_in_module.settle(s, clock, "grid1", "192.0.2.1", c, throttle, 3600))
        assert isinstance(found, Unauthorized)
        if "password" in change:
            r = sign_in(app.test_client(), "grid1", "a-new-password-1")
            assert r.status_code == 200
            api.client.patch(f"/api/users/{grid1['id']}", headers=api.headers("admin1"), json={"password": PASSWORD})


def test_a_hash_of_an_older_cost_is_made_again_at_todays_at_the_next_sign_in(settings, seeded):
    """EVENTFLOW_SCRYPT_N raised (the demo accounts were hashed at 1024): each account's next sign-in stores its
    hash at the new cost, so it costs what an unknown name's check does; the password still signs in."""
    settings.scrypt_n = 2048
    app = build_app(settings)
    svc = app.extensions["eventflow"]

    def stored(name):
        return svc.read(lambda s: s.execute(text("SELECT password_hash FROM app_user WHERE username = :u"),
                                            {"u": name}).scalar())
    assert stored("grid1").startswith("scrypt$1024$") and stored("staff1").startswith("scrypt$1024$")
    client = app.test_client()
    assert sign_in(client, "grid1", "guess-1234").status_code == 401          # a wrong one changes nothing
    assert stored("grid1").startswith("scrypt$1024$")
    users._stand_in.cache_clear()
    assert sign_in(client, "grid1", PASSWORD).status_code == 200
    assert users._stand_in.cache_info().currsize == 1     # a known name's first sign-in made the stand-in too
    again = stored("grid1")
    assert again.startswith("scrypt$2048$") and stored("staff1").startswith("scrypt$1024$")
    assert sign_in(client, "grid1", PASSWORD).status_code == 200 and stored("grid1") == again   # made once
    svc.db.dispose()
