"""A reporter's contact (issue #6 privacy): in full for the registering community's cadres (and the city
only while an address-only report waits for its 分拨), masked for everyone else: the masks (who sees what
through GET /api/events/{id} is an HTTP contract: tests/web/test_privacy.py)."""
from __future__ import annotations

from engine.accounts.privacy import mask_email, mask_name, mask_phone


def test_masks():
    assert (mask_phone("13800001111"), mask_name("王小明"), mask_email("wang.xm@example.com")) == \
        ("138****1111", "王**", "w***@example.com")
    assert mask_phone("110") == "****"
