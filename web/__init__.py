"""Flask: app factory, JSON API, pages and the CLI glue."""

from __future__ import annotations

from typing import Any

from flask import Flask

from tracker.config import Settings


def create_app(config: dict[str, Any] | None = None, settings: Settings | None = None) -> Flask:
    app = Flask(__name__)
    app.config.from_mapping(
        MAX_CONTENT_LENGTH=64 * 1024 * 1024,
        JSON_SORT_KEYS=False,
    )
    if config:
        app.config.update(config)
    app.json.sort_keys = False  # type: ignore[attr-defined]

    from web import db, errors, pages
    from web.api import bp as api_bp

    db.init_app(app, settings or Settings.from_env())
    if not app.config.get("TESTING"):
        from tracker.domain.epcis import warm_up

        warm_up()
    errors.init_app(app)
    app.register_blueprint(api_bp)
    app.register_blueprint(pages.bp)
    return app
