"""The language switch (issue #20): every word the web app marks for translation — in its Python (`_`, `_l`,
`ngettext`) and its templates, and the engine's words marked N_ — has its English in the catalog
(web/translations/en/LC_MESSAGES/messages.po), found by Babel's own extraction with web/babel.cfg, the way
`make translations` collects them. A word added without its English fails here, naming it."""
from __future__ import annotations

from pathlib import Path

from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parents[2]


def marked() -> set[str]:
    with open(ROOT / "web" / "babel.cfg", encoding="utf-8") as cfg:
        method_map, options_map = parse_mapping_cfg(cfg)
    keywords = {"_": None, "_l": None, "gettext": None, "ngettext": (1, 2), "lazy_gettext": None, "N_": None}
    found = set()
    def wanted(path: str) -> bool:                 # the sources only: not .venv, node_modules, artifacts …
        name = Path(path).name
        return not name.startswith(".") and name not in ("node_modules", "artifacts", "dist", "__pycache__")
    for _file, _line, message, _comments, _context in extract_from_dir(
            str(ROOT), method_map, options_map, keywords=keywords, directory_filter=wanted):
        found.update(m for m in (message if isinstance(message, tuple) else (message,)) if m)
    return found


def test_every_marked_word_has_its_english():
    with open(ROOT / "web" / "translations" / "en" / "LC_MESSAGES" / "messages.po", "rb") as po:
        catalog = read_po(po)
    english = {m.id if isinstance(m.id, str) else m.id[0]: m.string for m in catalog if m.id}
    missing = sorted(word for word in marked() if not english.get(word))
    assert missing == [], f"{len(missing)} words without English: {missing[:20]}"
