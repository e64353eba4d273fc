"""Flask: app factory, JSON API, pages and the CLI glue."""

from __future__ import annotations

from typing import Any

from flask import Flask

from tracker.config import Settings


def create_app(config: dict[str, Any] | None = None, settings: Settings | None = None) -> Flask:
    app = Flask(__name__)
    app.config.from_mapping(JSON_SORT_KEYS=False)
    if config:
        app.config.update(config)
    app.json.sort_keys = False  # type: ignore[attr-defined]

    from web import (
        admin,
        auth,
        body_limits,
        compliance,
        db,
        errors,
        i18n,
        inspector,
        layout,
        pages,
        portal,
        public,
        reports,
        security,
        sessions,
        throttle,
    )
    from web.api import bp as api_bp

    settings = settings or Settings.from_env()
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = settings.secret_key
    app.config.setdefault("SESSION_IDLE_MINUTES", settings.session_idle_minutes)
    app.config.setdefault("MAP_TILE_URL", settings.map_tile_url)
    db.init_app(app, settings)
    body_limits.init_app(app)
    throttle.init_app(app)
    if not app.config.get("TESTING"):
        from tracker.domain.epcis import warm_up

        warm_up()
    errors.init_app(app)
    sessions.init_app(app)
    auth.init_app(app)
    i18n.init_app(app, timezone=settings.timezone)
    security.init_app(app)
    layout.init_app(app)
    app.register_blueprint(api_bp)
    import scanner_app

    for area in (pages, compliance, reports, admin, portal, inspector, public, scanner_app):
        app.register_blueprint(area.bp)
    return app
