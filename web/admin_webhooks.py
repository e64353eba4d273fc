"""The webhooks pages (admin; compliance reads): the endpoints with their state and what
became of their deliveries, a form to subscribe one (its signing secret shown once),
one endpoint's deliveries with every attempt, redelivery, disabling and deleting.

A blueprint nested in ``admin`` (its pages are under /admin/webhooks, its endpoints
``admin.webhooks.*``); the work is tracker.services.webhooks'."""

from __future__ import annotations

from flask import (
    Blueprint,
    abort,
    flash,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from flask import session as page_session
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from werkzeug.wrappers import Response as WerkzeugResponse

from tracker.db import write_transaction
from tracker.errors import TrackerError
from tracker.models import DeliveryStatus, Role
from tracker.services import webhooks
from tracker.services.notify import EVENT_TYPES
from web.actions import act
from web.auth import actor, role_required
from web.db import get_session

bp = Blueprint("webhooks", __name__, url_prefix="/webhooks")

PAGE_SIZE = 20
# The new secret waits in the (server-side) session from the form's answer to the page
# that shows it, and is taken out there: shown once, never on a reload.
NEW_SECRET = "webhook_secret"

EVENT_LABELS = {
    "violation.opened": _l("A violation is opened"),
    "violation.updated": _l("A violation changes status"),
    "shipment.received": _l("A shipment is received"),
    "batch.recalled": _l("A batch is recalled"),
    "sanction.proposed": _l("A sanction is proposed"),
    "sanction.updated": _l("A sanction changes"),
}
# What the form says when the service refuses it (else the service's own words).
FORM_PROBLEMS = {
    "invalid_url": _l("the address must start with http:// or https:// and name a host."),
    "invalid_events": _l("tick at least one event type."),
}
DELIVERY_FILTERS = {"failed": DeliveryStatus.FAILED, "pending": DeliveryStatus.PENDING,
                    "delivered": DeliveryStatus.DELIVERED}


@bp.context_processor
def _labels() -> dict[str, object]:
    return {"event_label": lambda event: EVENT_LABELS.get(event, event),
            "DeliveryStatus": DeliveryStatus}


@bp.get("")
@role_required(Role.COMPLIANCE)
def index() -> WerkzeugResponse:
    return _endpoints_page(new=page_session.pop(NEW_SECRET, None))


@bp.post("")
@role_required(Role.ADMIN)
def add() -> WerkzeugResponse:
    url = request.form.get("url", "")
    events = request.form.getlist("events")
    session = get_session()
    try:
        with write_transaction(session):
            found, secret = webhooks.create_endpoint(session, url=url, events=events,
                                                     actor=actor())
    except TrackerError as exc:
        problem = FORM_PROBLEMS.get(exc.code, exc.message)
        flash(_("Nothing was added: %(problem)s", problem=problem), "danger")
        return _endpoints_page(form={"url": url, "events": events}, status=400)
    page_session[NEW_SECRET] = {"id": found.endpoint.id, "url": found.endpoint.url,
                                "secret": secret}
    return redirect(url_for(".index"))


def _endpoints_page(*, new: dict[str, object] | None = None,
                    form: dict[str, object] | None = None, status: int = 200
                    ) -> WerkzeugResponse:
    session = get_session()
    found = webhooks.list_endpoints(session, actor=actor())
    done = webhooks.activity(session, [f.endpoint.id for f in found], actor=actor())
    page = render_template("admin/webhooks.html", endpoints=found, activity=done,
                           event_types=EVENT_TYPES, new=new,
                           form=form or {"url": "", "events": []})
    session.rollback()
    response = make_response(page, status)
    if new:  # the secret is in this page: no copy in any cache
        response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/<int:webhook_id>")
@role_required(Role.COMPLIANCE)
def endpoint(webhook_id: int) -> str:
    shown = request.args.get("status", "")
    if shown and shown not in DELIVERY_FILTERS:
        abort(404)
    asked = request.args.get("page", "1")
    page_number = int(asked) if asked.isdigit() and int(asked) > 0 else 1
    session = get_session()
    found = webhooks.get_endpoint(session, webhook_id, actor=actor())
    done = webhooks.activity(session, [webhook_id], actor=actor())[webhook_id]
    deliveries, total = webhooks.list_deliveries(
        session, webhook_id, actor=actor(), limit=PAGE_SIZE,
        offset=(page_number - 1) * PAGE_SIZE, status=DELIVERY_FILTERS.get(shown))
    pages = max(1, -(-total // PAGE_SIZE))
    page = render_template("admin/webhook.html", found=found, activity=done,
                           deliveries=deliveries, total=total, shown=shown,
                           page_number=page_number, pages=pages)
    session.rollback()
    return page


@bp.post("/<int:webhook_id>/enabled")
@role_required(Role.ADMIN)
def set_enabled(webhook_id: int) -> WerkzeugResponse:
    enabled = request.form.get("enabled") == "yes"
    return act(lambda session: webhooks.set_enabled(
        session, webhook_id, enabled=enabled, actor=actor()), back=_back(webhook_id),
        done=_("Webhook %(id)s enabled: its waiting deliveries go out now.", id=webhook_id)
        if enabled else _("Webhook %(id)s disabled: its deliveries wait until it is "
                          "enabled again.", id=webhook_id))


@bp.post("/<int:webhook_id>/delete")
@role_required(Role.ADMIN)
def delete(webhook_id: int) -> WerkzeugResponse:
    return act(lambda session: webhooks.delete_endpoint(session, webhook_id, actor=actor()),
                back=url_for(".index"), failed_back=_back(webhook_id),
                done=_("Webhook %(id)s deleted.", id=webhook_id))


@bp.post("/<int:webhook_id>/deliveries/<int:delivery_id>/redeliver")
@role_required(Role.ADMIN)
def redeliver(webhook_id: int, delivery_id: int) -> WerkzeugResponse:
    return act(lambda session: webhooks.redeliver(session, webhook_id, delivery_id,
                                                   actor=actor()),
                back=_back(webhook_id),
                done=_("Delivery %(id)s will be sent again in a moment, with the same "
                       "webhook-id.", id=delivery_id))


def _back(webhook_id: int) -> str:
    """The page the form was on: the list, or the endpoint's page (with its filter)."""
    back = request.form.get("back", "")
    if back.startswith(url_for(".index")) and not back.startswith("//"):
        return back
    return url_for(".endpoint", webhook_id=webhook_id)
