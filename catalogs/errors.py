"""The one domain error of the catalogs package."""


class CatalogError(Exception):
    """A catalog data file is missing, malformed or inconsistent.

    ``file`` is the data file's name (``"event_types.json"``), ``path`` the row id and field inside it
    (``"A07.department"``; ``""`` for the whole file) and ``reason`` what is wrong, so an administrator can
    go straight to the line to fix.  When the loader finds several problems it raises the first and keeps
    all of them, in file order, in ``errors``.

    For the people who edit catalogs in the app (issue #20): ``zh`` is the reason in Chinese, saying what to do
    (the app names the row and field in words: catalogs/words.py); a JSON Schema error keeps the validator's
    error as ``detail`` (engine/core/words.py says it in Chinese); ``ref`` is the code of the unit a row names
    that is not there (the app says when an edit removed it).
    """

    def __init__(self, file: str, path: str, reason: str, zh: str | None = None, detail=None,
                 ref: str | None = None):
        self.file = file
        self.path = path
        self.reason = reason
        self.zh = zh
        self.detail = detail
        self.ref = ref
        self.errors: list[CatalogError] = [self]
        super().__init__(str(self))

    def __str__(self) -> str:
        where = f"{self.file} {self.path}" if self.path else self.file
        return f"{where}: {self.reason}"

    def __repr__(self) -> str:
        return f"CatalogError({self.file!r}, {self.path!r}, {self.reason!r})"
