"""Users, roles, scope and bearer tokens. Passwords are scrypt hashes; tokens are stored hashed and
expire (Settings.token_ttl_seconds)."""
from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from typing import NamedTuple
from datetime import timedelta

from sqlalchemy import bindparam, delete, select

from engine.core import words
from engine.core.errors import Conflict, InvalidData, Unauthorized, must_exist
from engine.store import paging
from engine.store.models import Audit, Token, User

#: role codes (the roles catalog names them in Chinese)
ROLES = ("grid_worker", "community_staff", "whistle_officer", "stationed_staff", "department_staff",
         "committee", "city_authority", "process_admin", "system_admin")
#: roles that see every community and unit
GLOBAL_ROLES = {"city_authority", "system_admin", "process_admin"}
#: an account's fields as the account pages label them
_LABELS = {"community": "社区", "unit": "单位"}
#: roles whose scope is a community
COMMUNITY_ROLES = {"grid_worker", "community_staff", "whistle_officer", "stationed_staff", "committee"}


def hash_password(password: str, n: int = 2**14) -> str:
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=n, r=8, p=1, dklen=32)
    return f"scrypt${n}$8$1${base64.b64encode(salt).decode()}${base64.b64encode(digest).decode()}"


def check_password(password: str, stored: str) -> bool:
    try:
        _, n, r, p, salt, digest = stored.split("$")
        actual = hashlib.scrypt(password.encode(), salt=base64.b64decode(salt), n=int(n), r=int(r),
                                p=int(p), dklen=32)
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(actual, base64.b64decode(digest))


@functools.cache
def _stand_in(n: int) -> str:
    """A hash no password matches in practice (a random one's), checked for a name that does not exist."""
    return hash_password(secrets.token_urlsafe(32), n)


@dataclass(frozen=True)
class Principal:
    """The signed-in user as the engine sees it: roles and scope."""

    id: int
    username: str
    display_name: str
    roles: frozenset
    community: str | None
    unit: str | None
    #: designated for the sensitive rows of Table A.1 in their community (engine/accounts/privacy.py)
    sensitive_access: bool = False

    def to_dict(self) -> dict:
        return {"username": self.username, "display_name": self.display_name, "roles": sorted(self.roles),
                "community": self.community, "unit": self.unit, "sensitive_access": self.sensitive_access}


def exists(session, username: str) -> bool:
    return session.scalar(select(User.id).where(User.username == username)) is not None


def principal(user: User) -> Principal:
    return Principal(user.id, user.username, user.display_name, frozenset(user.roles), user.community,
                     user.unit, bool(user.sensitive_access))


def scope_errors(catalogs, roles, community, unit, sensitive_access) -> list[dict]:
    """What is wrong with a set of roles and a scope (a community and/or a unit), field by field."""
    errors = []
    if not isinstance(roles, (list, tuple, set, frozenset)) or not all(isinstance(r, str) for r in roles):
        return [{"field": "roles", "reason": "「角色」应为角色代码的列表 (a list of role codes)"}]
    for name, value in (("community", community), ("unit", unit)):
        if value is not None and not isinstance(value, str):     # a list or an object is no code (issue #15)
            return [{"field": name, "reason": f"「{_LABELS[name]}」应为代码文本或 null (a code as text, or null)"}]
    if not isinstance(sensitive_access, bool):
        return [{"field": "sensitive_access", "reason": "「可查看敏感事件」应为 true 或 false (true or false)"}]
    roles = list(roles)
    for role in roles:
        if role not in ROLES:
            errors.append({"field": "role", "reason": words.both(f"「角色」中的 {role} 不是可选的角色：请从列表中勾选",
                                                                  f"unknown role {role!r}; one of {', '.join(ROLES)}")})
    if not roles:
        errors.append({"field": "role", "reason": "「角色」请至少勾选一个 (at least one role)"})
    if community is not None and catalogs.community(community) is None:
        errors.append({"field": "community", "reason": words.both(f"「社区」{community} 不存在：请从列表中选择",
                                                                  f"unknown community {community!r}")})
    if unit is not None and catalogs.unit(unit) is None:
        errors.append({"field": "unit", "reason": words.both(f"「单位」{unit} 不存在：请从列表中选择",
                                                             f"unknown unit {unit!r}")})
    if set(roles) & COMMUNITY_ROLES and community is None:
        errors.append({"field": "community", "reason": "所选角色在社区工作：请选择「社区」 (community roles need a "
                                                       "community)"})
    if sensitive_access and not ({"community_staff", "committee"} & set(roles) and community):
        errors.append({"field": "sensitive_access",
                       "reason": "「可查看敏感事件」只能授予选了社区的社区干部（社区工作人员、社区联合党委）：请取消勾选，"
                                 "或改选角色和社区 (only a community's cadres (community_staff, committee) can be "
                                 "designated for sensitive events)"})
    if "department_staff" in roles and unit is None:
        errors.append({"field": "unit", "reason": "部门工作人员须属于一个单位：请选择「单位」 (department staff need a unit)"})
    return errors


def _password_errors(password) -> list[dict]:
    if not isinstance(password, str) or len(password) < 8:
        return [{"field": "password", "reason": "「密码」至少 8 个字符，请重新设置 (at least 8 characters)"}]
    return []


def create_user(session, catalogs, clock, username: str, password: str, roles, community=None,
                unit=None, display_name=None, scrypt_n: int = 2**14, sensitive_access: bool = False) -> User:
    errors = []
    if not isinstance(username, str) or not username or len(username) > 100 \
            or not username.replace("_", "").replace("-", "").replace(".", "").isalnum():
        errors.append({"field": "username", "reason": "请填写「用户名」：只用字母、数字和 _ - .，至多 100 个字符 "
                                                      "(letters, digits, _ - . only, at most 100)"})
    elif session.scalar(select(User.id).where(User.username == username)) is not None:
        errors.append({"field": "username", "reason": words.both("「用户名」已被其他账号使用：请换一个",
                                                                 f"user {username!r} already exists")})
    errors += _password_errors(password)
    errors += scope_errors(catalogs, roles, community, unit, sensitive_access)
    if display_name is not None and (not isinstance(display_name, str) or len(display_name.strip()) > 100):
        errors.append({"field": "display_name", "reason": "「姓名」至多 100 个字符 (at most 100 characters)"})
    if errors:
        raise InvalidData(errors)
    user = User(username=username, display_name=display_name or username,
                password_hash=hash_password(password, scrypt_n), roles=list(roles), community=community,
                unit=unit, active=True, created_at=clock.now(), sensitive_access=bool(sensitive_access))
    session.add(user)
    session.flush()
    return user


#: the accounts' order: by username (unique)
ORDER = paging.Order("users", User.username)
PAGE = paging.PageRequest(200)


def list_accounts(cmd, page: paging.PageRequest = PAGE) -> paging.Page:
    """A page of the accounts (`describe`), by username: for a system administrator (issue #6)."""
    return paging.fetch(cmd.session, select(User), ORDER, page).map(lambda rows: [describe(u) for u in rows])


def account(cmd, user_id: int) -> dict:
    """One account (`describe`); NotFound if there is none."""
    return describe(must_exist(cmd.session.get(User, user_id), f"user {user_id} does not exist", field="user_id"))


#: what an account is made of (POST /api/users)
ACCOUNT_FIELDS = ("username", "password", "display_name", "roles", "community", "unit", "sensitive_access")


def create_account(cmd, body, scrypt_n: int = 2**14) -> dict:
    """新建账号 by a system administrator from its fields (`ACCOUNT_FIELDS`), audited; the password is the
    administrator's to hand over."""
    if not isinstance(body, dict):
        raise InvalidData([{"field": "(body)", "reason": "expected a JSON object"}])
    unknown = sorted(set(body) - set(ACCOUNT_FIELDS))
    if unknown:
        raise InvalidData([{"field": k, "reason": "not a field of an account"} for k in unknown])
    roles = body.get("roles")
    if not isinstance(roles, list):
        raise InvalidData([{"field": "roles", "reason": "a list of role codes"}])

    def code(name):    # "" is no code; a list or an object is refused by name (scope_errors)
        return None if body.get(name) in (None, "") else body[name]
    user = create_user(cmd.session, cmd.catalogs, cmd.env.wall_clock, body.get("username") or "",
                       body.get("password") or "", roles, code("community"), code("unit"),
                       body.get("display_name") or None, scrypt_n, bool(body.get("sensitive_access")))
    cmd.session.add(Audit(at=cmd.env.wall_clock.now(), actor=cmd.actor, action="user_created",
                          data={"user": user.username, "roles": user.roles, "community": user.community,
                                "unit": user.unit}))
    return describe(user)


#: what an administrator may change of an account (PATCH /api/users/{id})
EDITABLE_FIELDS = ("display_name", "roles", "community", "unit", "sensitive_access", "active", "password")


def update_account(cmd, user_id: int, changes, scrypt_n: int = 2**14) -> dict:
    """An administrator changes an account: name, roles and scope, sensitive access, active, a new password.
    The account's tokens (its API tokens and web sessions) end when its roles, scope, password or state
    change. Nobody disables themself, and the last active system administrator keeps the role."""
    session, catalogs, actor = cmd.session, cmd.catalogs, cmd.user
    user = must_exist(session.get(User, user_id, with_for_update=True), f"user {user_id} does not exist",
                      field="user_id")
    if not isinstance(changes, dict) or not changes:
        raise InvalidData([{"field": "(body)", "reason": f"send one or more of {', '.join(EDITABLE_FIELDS)}"}])
    errors = [{"field": k, "reason": "not a field an administrator edits"} for k in changes if k not in EDITABLE_FIELDS]
    wanted = {k: changes.get(k, getattr(user, k)) for k in ("roles", "community", "unit", "sensitive_access")}
    if not isinstance(wanted["roles"], list):
        errors.append({"field": "roles", "reason": "「角色」应为角色代码的列表 (a list of role codes)"})
    else:
        errors += scope_errors(catalogs, wanted["roles"], wanted["community"], wanted["unit"],
                               wanted["sensitive_access"])
    if "display_name" in changes and not (isinstance(changes["display_name"], str)
                                          and 0 < len(changes["display_name"].strip()) <= 100):
        errors.append({"field": "display_name", "reason": "请填写「姓名」，至多 100 个字符 (1 to 100 characters)"})
    if "active" in changes and not isinstance(changes["active"], bool):
        errors.append({"field": "active", "reason": "「在用」应为 true 或 false (true or false)"})
    if "password" in changes:
        errors += _password_errors(changes["password"])
    if errors:
        raise InvalidData(errors)
    active = changes.get("active", user.active)
    if user.username == actor.username and (not active or "system_admin" not in wanted["roles"]) \
            and "system_admin" in user.roles:
        raise Conflict("不能停用自己或取消自己的系统管理员角色 (you cannot disable yourself or drop your own "
                       "system_admin role)", field="active")
    if "system_admin" in user.roles and user.active and (not active or "system_admin" not in wanted["roles"]):
        others = [u for u in session.scalars(select(User).where(User.active.is_(True), User.id != user.id))
                  if "system_admin" in (u.roles or [])]
        if not others:
            raise Conflict("至少保留一名在用的系统管理员 (the last active system administrator)", field="roles")
    changed = {}
    for key in ("display_name", "roles", "community", "unit", "sensitive_access", "active"):
        if key in changes and changes[key] != getattr(user, key):
            value = changes[key].strip() if key == "display_name" else changes[key]
            changed[key] = {"from": getattr(user, key), "to": value}
            setattr(user, key, value)
    if "password" in changes:
        user.password_hash = hash_password(changes["password"], scrypt_n)
        changed["password"] = "reset"
    if set(changed) - {"display_name"}:       # what they may do changed: sign in again
        session.execute(delete(Token).where(Token.user_id == user.id))
    if changed:
        session.add(Audit(at=cmd.env.wall_clock.now(), actor=actor.username, action="user_updated",
                          data={"user": user.username, "changes": changed}))
    return describe(user)


def describe(user: User) -> dict:
    return {"id": user.id, **principal(user).to_dict(), "active": user.active}


class Checked(NamedTuple):
    """A right name and password (`credentials`): the account, the hash the password matched, and the same
    password hashed at today's cost when the stored hash has another (set when the sign-in's write keeps it)."""

    user_id: int
    matched: str
    rehashed: str | None


def credentials(session, username: str, password: str, scrypt_n: int = 2**14) -> Checked:
    """The active account a right name and password name; else Unauthorized. A name that does not exist is
    checked against a stand-in hash of `scrypt_n` (the accounts' cost), so it takes the same time; the stand-in
    is made at a process's first sign-in of any name, so that one is slower for a known name and an unknown
    alike. A hash of another cost (EVENTFLOW_SCRYPT_N changed since it was made) is made again at `scrypt_n`, so
    an old account's sign-in comes to cost what an unknown name's does. (engine/accounts/sign_in.py throttles the
    tries and runs this in a read: no write lock held over scrypt.)"""
    stand_in = _stand_in(scrypt_n)
    user = session.scalar(select(User).where(User.username == username))
    stored = user.password_hash if user is not None else stand_in
    if not check_password(password or "", stored) or user is None or not user.active:
        raise refused()
    again = hash_password(password, scrypt_n) if _cost(stored) != scrypt_n else None
    return Checked(user.id, stored, again)


def _cost(stored: str) -> int | None:
    """The scrypt N a stored hash was made with (scrypt$N$r$p$salt$digest)."""
    parts = stored.split("$")
    return int(parts[1]) if len(parts) == 6 and parts[1].isdigit() else None


def refused() -> Unauthorized:
    """A sign-in refused: the same answer for a wrong password, an unknown name and a disabled account."""
    return Unauthorized("用户名或密码错误 (wrong username or password)", field="password")


def issue_token(session, clock, user_id: int, ttl_seconds: int) -> tuple[str, object]:
    """A new token for the account `user_id` (its credentials checked: `credentials`)."""
    token = secrets.token_urlsafe(32)
    now = clock.now()
    session.execute(delete(Token).where(Token.user_id == user_id, Token.expires_at <= now))
    session.add(Token(token_hash=hashlib.sha256(token.encode()).hexdigest(), user_id=user_id,
                      created_at=now, expires_at=now + timedelta(seconds=ttl_seconds)))
    return token, now + timedelta(seconds=ttl_seconds)


#: the token joined to the columns of its user a Principal is made of (built once: every signed-in request
#: runs it, and building a statement costs more than running this one)
_TOKEN_USER = (select(Token.expires_at, User.active, User.id, User.username, User.display_name, User.roles,
                      User.community, User.unit, User.sensitive_access)
               .join(User, User.id == Token.user_id).where(Token.token_hash == bindparam("token_hash")))


def authenticate(session, clock, token: str) -> Principal:
    """The bearer token's user, in one statement (the token joined to its user) on `session` (a session or a
    connection); 401 for an unknown or expired token or a disabled account."""
    row = session.execute(_TOKEN_USER, {"token_hash": hashlib.sha256(token.encode()).hexdigest()}).first() \
        if token else None
    if row is None:
        raise Unauthorized("missing or unknown bearer token")
    expires_at, active, user_id, username, display_name, roles, community, unit, sensitive = row
    if expires_at <= clock.now():
        raise Unauthorized("the token has expired; sign in again")
    if not active:
        raise Unauthorized("the account is disabled")
    return Principal(user_id, username, display_name, frozenset(roles), community, unit, bool(sensitive))


def revoke_token(session, token: str) -> None:
    """Signing out: the token stops working at once."""
    session.execute(delete(Token).where(Token.token_hash == hashlib.sha256(token.encode()).hexdigest()))
