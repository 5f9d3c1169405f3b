"""Users, roles, scope and bearer tokens. Passwords are scrypt hashes; tokens are stored hashed and
expire (Settings.token_ttl_seconds)."""
from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import delete, select

from engine.errors import InvalidData, Unauthorized
from engine.models import Token, User

#: role codes (the roles catalog names them in Chinese)
ROLES = ("grid_worker", "community_staff", "whistle_officer", "stationed_staff", "department_staff",
         "committee", "city_authority", "process_admin", "system_admin")
#: roles that see every community and unit
GLOBAL_ROLES = {"city_authority", "system_admin", "process_admin"}


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


@dataclass(frozen=True)
class Principal:
    """The signed-in user as the engine sees it: roles and scope."""

    id: int
    username: str
    display_name: str
    roles: frozenset
    community: str | None
    unit: str | None
    #: designated for the sensitive rows of Table A.1 in their community (engine/privacy.py)
    sensitive_access: bool = False

    @property
    def is_global(self) -> bool:
        return bool(self.roles & GLOBAL_ROLES)

    def to_dict(self) -> dict:
        return {"username": self.username, "display_name": self.display_name, "roles": sorted(self.roles),
                "community": self.community, "unit": self.unit, "sensitive_access": self.sensitive_access}


def principal(user: User) -> Principal:
    return Principal(user.id, user.username, user.display_name, frozenset(user.roles), user.community,
                     user.unit, bool(user.sensitive_access))


def create_user(session, catalogs, clock, username: str, password: str, roles, community=None,
                unit=None, display_name=None, scrypt_n: int = 2**14, sensitive_access: bool = False) -> User:
    errors = []
    if not username or len(username) > 100 or not username.replace("_", "").replace("-", "").replace(".", "").isalnum():
        errors.append({"field": "username", "reason": "letters, digits, _ - . only, at most 100"})
    elif session.scalar(select(User.id).where(User.username == username)) is not None:
        errors.append({"field": "username", "reason": f"user {username!r} already exists"})
    if not password or len(password) < 8:
        errors.append({"field": "password", "reason": "at least 8 characters"})
    roles = list(roles or [])
    for role in roles:
        if role not in ROLES:
            errors.append({"field": "role", "reason": f"unknown role {role!r}; one of {', '.join(ROLES)}"})
    if not roles:
        errors.append({"field": "role", "reason": "at least one role"})
    if community is not None and catalogs.community(community) is None:
        errors.append({"field": "community", "reason": f"unknown community {community!r}"})
    if unit is not None and catalogs.unit(unit) is None:
        errors.append({"field": "unit", "reason": f"unknown unit {unit!r}"})
    needs_community = {"grid_worker", "community_staff", "whistle_officer", "stationed_staff", "committee"}
    if set(roles) & needs_community and community is None:
        errors.append({"field": "community", "reason": "community roles need a community"})
    if sensitive_access and not ({"community_staff", "committee"} & set(roles) and community):
        errors.append({"field": "sensitive_access", "reason": "only a community's cadres (community_staff, committee) "
                                                              "can be designated for sensitive events"})
    if "department_staff" in roles and unit is None:
        errors.append({"field": "unit", "reason": "department staff need a unit"})
    if errors:
        raise InvalidData(errors)
    user = User(username=username, display_name=display_name or username,
                password_hash=hash_password(password, scrypt_n), roles=roles, community=community,
                unit=unit, active=True, created_at=clock.now(), sensitive_access=bool(sensitive_access))
    session.add(user)
    session.flush()
    return user


def issue_token(session, clock, username: str, password: str, ttl_seconds: int) -> tuple[str, object]:
    user = session.scalar(select(User).where(User.username == username))
    if user is None or not user.active or not check_password(password or "", user.password_hash):
        raise Unauthorized("wrong username or password", field="password")
    token = secrets.token_urlsafe(32)
    now = clock.now()
    session.execute(delete(Token).where(Token.user_id == user.id, Token.expires_at <= now))
    session.add(Token(token_hash=hashlib.sha256(token.encode()).hexdigest(), user_id=user.id,
                      created_at=now, expires_at=now + timedelta(seconds=ttl_seconds)))
    return token, now + timedelta(seconds=ttl_seconds)


def authenticate(session, clock, token: str) -> Principal:
    row = session.get(Token, hashlib.sha256(token.encode()).hexdigest()) if token else None
    if row is None:
        raise Unauthorized("missing or unknown bearer token")
    if row.expires_at <= clock.now():
        raise Unauthorized("the token has expired; sign in again")
    user = session.get(User, row.user_id)
    if user is None or not user.active:
        raise Unauthorized("the account is disabled")
    return principal(user)


def revoke_token(session, token: str) -> None:
    """Signing out: the token stops working at once."""
    session.execute(delete(Token).where(Token.token_hash == hashlib.sha256(token.encode()).hexdigest()))
