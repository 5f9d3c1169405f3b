"""A refusal in the reader's language (issue #20): the one place the web app's pages turn a message of the engine
into what the user reads. The engine writes "中文 (English)" (engine/core/words.py); a page shows the Chinese
part, or after the language switch the English part — never both in one line. A message the engine wrote in
Chinese only is looked up in the message catalog (web/translations) for English.

Pages call `say` on every reason and message they flash or show (`{{ reason|say }}` in templates); the JSON API
answers the engine's strings as they are."""
from __future__ import annotations

from flask_babel import get_locale, gettext

from engine.core.words import in_language


def say(message) -> str:
    """`message` in the language of this request's user."""
    return in_language(message, str(get_locale() or "zh_CN"), gettext)


def by_field(errors: list[dict]) -> dict[str, str]:
    """An InvalidData's {field, reason} list as {field: reason in the user's language}; two reasons on one field
    are joined."""
    found: dict[str, str] = {}
    joiner = "; " if str(get_locale() or "").startswith("en") else "；"
    for e in errors:
        reason = say(e["reason"])
        found[e["field"]] = f"{found[e['field']]}{joiner}{reason}" if e["field"] in found else reason
    return found


def set_up(app) -> None:
    app.jinja_env.filters["say"] = say
