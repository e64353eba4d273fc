"""CSRF protection on every page form and state-changing fetch (Flask-WTF), and the
security headers of every page. The JSON API is exempt from CSRF: it authenticates by
bearer token, which a browser never sends by itself."""

from __future__ import annotations

from flask import Flask, request
from flask_wtf.csrf import CSRFProtect
from werkzeug.wrappers import Response

csrf = CSRFProtect()

# No inline scripts anywhere: page scripts are files under /static, data reaches them in
# data-* attributes. Inline styles stay allowed (Leaflet positions its panes with them).
CONTENT_SECURITY_POLICY = "; ".join([
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self' 'unsafe-inline'",
    "img-src 'self' data: blob:",
    "connect-src 'self'",
    "object-src 'none'",
    "base-uri 'self'",
    "form-action 'self'",
    "frame-ancestors 'none'",
])


def init_app(app: Flask) -> None:
    app.config.setdefault("WTF_CSRF_TIME_LIMIT", None)  # the session's idle limit bounds it
    csrf.init_app(app)
    from web.api import bp as api_bp

    csrf.exempt(api_bp)

    @app.after_request
    def _headers(response: Response) -> Response:
        if request.path.startswith("/api/"):
            return response
        response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        return response
