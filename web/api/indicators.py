"""§8.6 indicators, the §9.1 circular and the assessment score over HTTP (issue #8): every number with its
parts (engine/oversight/indicators.py, circular.py, assessment.py). Each party's row only for those who may
read it: the city, administrators, and the parties themselves."""
from flask import Blueprint, request

from engine.accounts import permissions
from engine.core.clock import local
from engine.oversight import assessment as assessments
from engine.oversight import circular as circulars
from engine.oversight import comparison, indicators
from engine.oversight import unlisted_whistles
from web.auth import services, signed_in
from web.units import instant_asked, page_asked, period_asked, read

bp = Blueprint("indicators", __name__, url_prefix="/api")



def _level() -> str:
    """`?level=`: community | unit | person (`department` is accepted for `unit`); default unit."""
    level = request.args.get("level", "unit")
    return "unit" if level == "department" else level


@bp.get("/indicators")
@signed_in(permissions.INDICATORS)
def index():
    """`?level=community|unit|person&from=…&to=…` (`department` is accepted for `unit`); the period is [from, to)."""
    level = _level()
    start, end = instant_asked("from"), instant_asked("to")
    before = _previous(start, end)
    return {"level": level, "from": local(start), "to": local(end), "previous": before,
            "items": read(indicators.report, level, start, end),
            "formulas": {k: {"name": n, "formula": f} for k, (n, f) in indicators.INDICATORS.items()}}


def _previous(start, end) -> dict:
    """The period 环比 compares with (engine/oversight/comparison.py), once [start, end) is checked."""
    indicators.check_period(start, end)
    first, last = comparison.previous_period(start, end)
    return {"from": local(first), "to": local(last)}


@bp.get("/circular")
@signed_in(permissions.CIRCULAR)
def circular():
    """通报 (§9.1) for `?from=…&to=…`: units, people and communities with late responses, late feedback and
    poorly handled work, each with its counts and its first `?first=` entries of each category (newest first,
    each naming the event); `more` gives the cursor of /api/circular/entries for the rest."""
    start, end = period_asked()
    return read(circulars.for_period, start, end, circulars.first_of(request.args.get("first")))


@bp.get("/circular/entries")
@signed_in(permissions.CIRCULAR)
def circular_entries():
    """One party's entries of one category of the circular of `?from=…&to=…`, newest first, a page at a time
    (`?level=&party=&category=&cursor=&limit=`; the circular's `more` cursor continues after its first ones)."""
    start, end = period_asked()
    level, party, category = (request.args.get(name) for name in ("level", "party", "category"))
    found = read(circulars.entries_page, start, end, level, party, category,
                 page_asked(circulars.PAGE, circulars.PAGE_MAX))
    return found.body(level=level, party=party, category=category)


@bp.get("/unlisted-whistles")
@signed_in(permissions.UNLISTED_WHISTLES)
def unlisted():
    """清单外吹哨 (§7.3.2) of `?from=…&to=…`: each community's count of whistles off its whistle list, and the
    whistles (newest first, a page at a time: `?cursor=&limit=`), each with its reason; `?community=` one."""
    start, end = period_asked()
    return read(unlisted_whistles.listing, start, end, request.args.get("community") or None,
                page_asked(unlisted_whistles.PAGE, unlisted_whistles.PAGE_MAX))


@bp.get("/assessment")
@signed_in(permissions.INDICATORS)
def assessment():
    """考核得分 for `?level=…&from=…&to=…`: weights and deduction from the settings, every part shown."""
    level = _level()
    start, end = period_asked()
    settings = services().settings
    weights = assessments.parse_weights(settings.assessment_weights)
    required = assessments.parse_required(settings.assessment_requires)
    return {"level": level, "from": local(start), "to": local(end), "previous": _previous(start, end),
            "weights": weights, "deduction": settings.assessment_deduction, "requires": list(required),
            "items": read(assessments.report, level, start, end, weights, settings.assessment_deduction, required)}
