"""English and Simplified Chinese: the language from the switch the user chose (kept in
a cookie), else from the browser's ``Accept-Language``; dates and numbers formatted
for it. Catalogues: ``web/translations/zh/LC_MESSAGES/messages.po`` (compiled beside it);
``tests/web/test_translations.py`` fails when a visible string has no translation."""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import Flask, g, request
from flask_babel import Babel, format_datetime, format_decimal, get_locale

LANGUAGES = {"en": "English", "zh": "简体中文"}
DEFAULT = "en"
# The language switch's choice, in a cookie of its own: it outlives signing out, and a
# visitor who only changes language leaves no session on the server.
COOKIE = "tracker_lang"


def select_locale() -> str:
    chosen = request.cookies.get(COOKIE)
    if chosen in LANGUAGES:
        return str(chosen)
    return request.accept_languages.best_match(list(LANGUAGES), default=DEFAULT) or DEFAULT


def language() -> str:
    """The page's language code ("en" or "zh"), for templates and services."""
    return str(get_locale() or DEFAULT).split("_")[0]


def when(value: dt.datetime | None, style: str = "medium") -> str:
    return "" if value is None else format_datetime(value, style)


def number(value: float | int | None) -> str:
    return "" if value is None else format_decimal(value)


def territory_label(code: str | None, names: dict[str, tuple[str, str | None]] | None = None
                    ) -> str:
    """A territory as people read it: its name in the page's language (``name_zh`` where
    the map carries one), then its code. ``names``: code -> (name, name_zh)."""
    if not code:
        return ""
    names = names if names is not None else g.get("territory_names", {})
    name, name_zh = names.get(code, (code, None))
    shown = name_zh if language() == "zh" and name_zh else name
    return shown if shown == code else f"{shown} ({code})"


def init_app(app: Flask, *, timezone: str = "UTC") -> None:
    app.config.setdefault("BABEL_DEFAULT_TIMEZONE", timezone)
    Babel(app, locale_selector=select_locale)

    @app.context_processor
    def _helpers() -> dict[str, Any]:
        return {"languages": LANGUAGES, "language": language, "when": when, "number": number,
                "territory_label": territory_label, "timedelta": dt.timedelta}
