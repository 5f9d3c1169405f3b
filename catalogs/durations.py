"""ISO 8601 durations for time limits (§8.1), restricted to what a clock can add: PnDTnHnMnS.

Years and months are refused because their length depends on the calendar; working-day limits
(§8.3: 5 working days) belong to the holiday calendar, not to these durations.
"""

import re
from datetime import timedelta

_DURATION = re.compile(
    r"P(?:(?P<days>[0-9]+)D)?"
    r"(?:T(?=[0-9])(?:(?P<hours>[0-9]+)H)?(?:(?P<minutes>[0-9]+)M)?(?:(?P<seconds>[0-9]+)S)?)?"
)


#: the longest time limit a catalog may set: a year (a longer one is a typo, and would overflow a date)
LONGEST = timedelta(days=366)


def parse_duration(text: str) -> timedelta:
    """``"PT2H"`` → ``timedelta(hours=2)``; raises ValueError for anything else, for zero and for more
    than a year."""
    match = _DURATION.fullmatch(text) if isinstance(text, str) else None
    if match is None or text == "P":
        raise ValueError(f"not an ISO 8601 duration of the form PnDTnHnMnS: {text!r}")
    parts = {unit: int(n) for unit, n in match.groupdict().items() if n is not None}
    if any(n > 10**7 for n in parts.values()):
        raise ValueError(f"a time limit must be at most a year: {text!r}")
    value = timedelta(**parts)
    if value <= timedelta(0):
        raise ValueError(f"a time limit must be longer than zero: {text!r}")
    if value > LONGEST:
        raise ValueError(f"a time limit must be at most a year: {text!r}")
    return value
