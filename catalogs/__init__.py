"""Catalogs: the data an administrator edits, and the one loader that validates it.

Data files live in ``catalogs/data/`` (UTF-8 JSON): roles, the unit tree (市直部门, their local offices,
companies, 社区联合党委, the 市级主管部门), Appendix A Table A.1 (event types and their 主管部门),
Appendix B Table B.1 ("一件事" matters and their 协同部门) and the communities as GeoJSON with their
whistle lists (§7.3.2) and time limits (§8.1).  ``load_catalogs()`` checks every file against its JSON
Schema in ``catalogs/schemas/`` and then against each other, and raises :class:`CatalogError` naming the
file, row and reason of what is wrong.

    from catalogs import load_catalogs
    catalogs = load_catalogs()
    catalogs.competent_department("A07")        # "zhifa"
    catalogs.community_at(27.58, 120.60)         # "lg-longgang"
"""

from .durations import parse_duration
from .errors import CatalogError
from .loader import load_catalogs
from .model import DEFAULT_TIME_LIMIT, Catalogs

__all__ = ["Catalogs", "CatalogError", "DEFAULT_TIME_LIMIT", "load_catalogs", "parse_duration"]
