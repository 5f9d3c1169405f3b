"""The demo's accounts, one for every role and scope (`eventflow demo-data`, `make run`, the tests' seeded
database). Demo data only: a real city imports its staff (engine/accounts/user_import.py)."""
from __future__ import annotations

from engine.accounts import users

#: (username, display name, roles, community, unit)
DEMO_USERS = [
    ("grid1", "网格员 李明", ["grid_worker"], "lg-xincheng", None),
    ("staff1", "社区干部 陈芳", ["community_staff"], "lg-xincheng", None),
    ("whistle1", "吹哨人员 张伟", ["whistle_officer"], "lg-xincheng", None),
    ("stationed1", "下沉民警 王强", ["stationed_staff"], "lg-xincheng", "gongan.xincheng_pcs"),
    ("committee1", "联合党委 刘书记", ["committee"], "lg-xincheng", "committee.xincheng"),
    ("staff2", "社区干部 赵敏", ["community_staff"], "lg-longgang", None),
    ("police1", "公安局 办事员", ["department_staff"], None, "gongan"),
    ("pcs1", "龙港派出所 办事员", ["department_staff"], None, "gongan.longgang_pcs"),
    ("zhifa1", "执法局 办事员", ["department_staff"], None, "zhifa"),
    ("shijian1", "市监局 办事员", ["department_staff"], None, "shijian"),
    ("city1", "市社会治理中心", ["city_authority"], None, "shezhi"),
    ("owner1", "流程管理员", ["process_admin"], None, None),
    ("admin1", "系统管理员", ["system_admin"], None, None),
]
#: demo cadres designated for the sensitive rows of Table A.1 (engine/accounts/privacy.py)
DEMO_SENSITIVE_ACCESS = {"staff1"}


def create(cmd, entry: tuple, password: str, scrypt_n: int):
    """One DEMO_USERS entry as an account with `password`."""
    username, display, roles, community, unit = entry
    return users.create_user(cmd.session, cmd.catalogs, cmd.env.wall_clock, username, password, roles, community,
                             unit, display, scrypt_n, username in DEMO_SENSITIVE_ACCESS)
