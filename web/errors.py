"""One error handler: the core's exception classes become HTTP statuses and the error body."""

from __future__ import annotations

from flask import Flask, Response, jsonify, request
from werkzeug.exceptions import HTTPException

from tracker import errors
from web import body_limits
from web.api.inputs import BadRequest

STATUS: list[tuple[type[errors.TrackerError], int]] = [
    (errors.MalformedCode, 400),
    (BadRequest, 400),
    (errors.InvalidInput, 422),
    (errors.AuthenticationRequired, 401),
    (errors.PermissionDenied, 403),
    (errors.NotFound, 404),
    (errors.Conflict, 409),
    (errors.TooLarge, 413),
]

# Werkzeug's own errors (no route, bad method, body too big) get the same body shape.
HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    413: "too_large",
    415: "unsupported_media_type",
    501: "not_implemented",
}


def status_for(exc: errors.TrackerError) -> int:
    for cls, status in STATUS:
        if isinstance(exc, cls):
            return status
    return 400


def error_response(status: int, code: str, message: str, details: object = None) -> Response:
    # Imported here: web.api imports this module. Under /api/v1/epcis, GS1's binding rules.
    from web.api.epcis_binding import problem_response, wants_problem
    if wants_problem():
        return problem_response(status, code, message, details)
    body: dict[str, object] = {"code": code, "message": message}
    if details is not None:
        body["details"] = details
    response = jsonify({"error": body})
    response.status_code = status
    if status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="tracker"'
    return response


def init_app(app: Flask) -> None:
    @app.errorhandler(errors.TrackerError)
    def _tracker_error(exc: errors.TrackerError) -> Response | tuple[str, int]:
        if not request.path.startswith("/api/"):
            return _page_problem(status_for(exc), exc.message)
        return error_response(status_for(exc), exc.code, exc.message, exc.details)

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException) -> Response | HTTPException | tuple[str, int]:
        if not request.path.startswith("/api/"):
            if exc.code == 413:
                return _page_problem(413, body_limits.refusal(None).message)
            return page_error(exc)
        status = exc.code or 500
        if status == 413:  # a body sent in chunks went over its route's limit
            refused = body_limits.refusal(None)
            return error_response(status, refused.code, refused.message)
        message = exc.description or exc.name
        return error_response(status, HTTP_CODES.get(status, "http_error"), message)


def page_error(exc: HTTPException) -> HTTPException | tuple[str, int]:
    """A page's error in the site's layout, in the reader's language."""
    from flask import render_template
    from flask_babel import gettext as _

    status = exc.code or 500
    texts = {
        400: (_("The request could not be handled"),
              _("The form may have expired. Go back, reload the page and try again.")),
        403: (_("Not allowed"),
              _("Your role does not give access to this page. Ask an administrator if you"
                " need it.")),
        404: (_("Page not found"),
              _("There is no page at this address. Check the link, or start from your home"
                " page.")),
        405: (_("Not allowed"), _("This page cannot be used that way.")),
    }
    if status not in texts:
        return exc
    heading, explanation = texts[status]
    return render_template("errors/error.html", status=status, heading=heading,
                           explanation=explanation), status


def _page_problem(status: int, message: str) -> tuple[str, int]:
    """A refusal of the core's on a page: the layout, the core's own sentence."""
    from flask import render_template
    from flask_babel import gettext as _

    headings = {403: _("Not allowed"), 404: _("Page not found")}
    heading = headings.get(status, _("The request could not be handled"))
    return render_template("errors/error.html", status=status, heading=heading,
                           explanation=message), status
