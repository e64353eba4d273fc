"""The compliance workspace: what needs attention, the violation queue, each case."""

from __future__ import annotations

from collections.abc import Iterator

from flask import (
    Blueprint,
    Response,
    current_app,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    stream_with_context,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.wrappers import Response as WerkzeugResponse

from tracker.db import write_transaction
from tracker.domain.case_file import content_hash, render_case_file
from tracker.errors import TrackerError
from tracker.models import Party, PartyRole, Product, Role, User, ViolationStatus
from tracker.services import attention, case, evidence, violation_queue, violations
from tracker.services.violation_filter import QueueFilter, parse_filter
from web.actions import act
from web.api.evidence import jpeg_response
from web.auth import actor, role_required
from web.case_file import case_file_data
from web.db import get_session, session_factory
from web.layout import STATUS_LABELS
from web.names import party_names, remember_territory_names

bp = Blueprint("compliance", __name__, url_prefix="/compliance")

PAGE_SIZE = 50
SORTS = ("newest", "oldest", "last_scan", "most_scans")


@bp.get("/")
@role_required(Role.COMPLIANCE)
def home() -> str:
    session = get_session()
    with write_transaction(session):  # noting the visit writes
        since = attention.note_visit(session, actor=actor())
        summary = attention.attention(session, actor=actor(), since=since)
        remember_territory_names(session)
        names = party_names(session)
    return render_template("compliance/home.html", summary=summary, party_names=names)


@bp.get("/violations")
@role_required(Role.COMPLIANCE)
def queue() -> tuple[str, int] | str:
    session = get_session()
    sort = request.args.get("sort", "newest")
    try:
        filters = parse_filter(request.args.to_dict(flat=False))
        page = violation_queue.list_queue(session, filters=filters, sort=sort,
                                          after=request.args.get("after") or None,
                                          limit=PAGE_SIZE, actor=actor())
        counts = violation_queue.count_by_status(session, filters=filters, actor=actor())
    except TrackerError as exc:
        session.rollback()
        flash(exc.message, "danger")
        filters, page, counts = QueueFilter(), None, None
    remember_territory_names(session)
    choices = _filter_choices(session)
    session.rollback()
    status = 400 if page is None else 200
    args = filters.to_args()

    def link(**changes: str | None) -> str:
        """This queue's address with some words changed (None: dropped)."""
        words = {**args, "after": request.args.get("after")}
        words.update(changes)
        return url_for("compliance.queue", sort=sort,
                       **{k: v for k, v in words.items() if v is not None})  # type: ignore[arg-type]

    return render_template("compliance/queue.html", filters=filters, args=args, link=link,
                           party_names=dict(choices["parties"]),
                           sort=sort, sorts=SORTS, page=page, counts=counts,
                           choices=choices, statuses=[s.value for s in ViolationStatus]
                           ), status


@bp.get("/violations.csv")
@role_required(Role.COMPLIANCE)
def queue_csv() -> Response:
    """The filtered queue as CSV, streamed: rows are read in batches as they are sent."""
    filters = parse_filter(request.args.to_dict(flat=False))
    sort = request.args.get("sort", "newest")
    who = actor()
    db = session_factory()()
    try:
        db.begin()
        chunks = violation_queue.export_csv(db, filters=filters, sort=sort, actor=who)
    except BaseException:
        db.close()
        raise

    def stream() -> Iterator[str]:
        try:
            yield from chunks
        finally:
            db.close()

    return Response(stream_with_context(stream()), mimetype="text/csv", headers={
        "Content-Disposition": "attachment; filename=violations.csv"})


BULK_ACTIONS = {"assign", "investigate", "dismiss"}


@bp.post("/violations/bulk")
@role_required(Role.COMPLIANCE)
def bulk() -> WerkzeugResponse:
    """Assign, start investigating or dismiss the ticked violations, all or none."""
    back = url_for("compliance.queue", **parse_filter(  # type: ignore[arg-type]
        request.args.to_dict(flat=False)).to_args())
    ids = [int(v) for v in request.form.getlist("ids") if v.isdigit()]
    action = request.form.get("action", "")
    reason = request.form.get("reason", "")
    if not ids:
        flash(_("Tick at least one violation first."), "warning")
        return redirect(back)
    if action not in BULK_ACTIONS:
        flash(_("Choose what to do with the ticked violations."), "warning")
        return redirect(back)

    def change(session: Session) -> None:
        if action == "assign":
            violation_queue.assign(session, ids, assignee=request.form.get("assignee") or None,
                                   actor=actor())
            return
        target = "investigating" if action == "investigate" else "dismissed"
        for violation_id in ids:  # the review refuses an empty reason, naming it
            violations.review(session, violation_id, status=target, note=reason,
                              actor=actor())

    return act(change, back=back, done=ngettext(
        "%(num)s violation updated.", "%(num)s violations updated.", len(ids)))


def _filter_choices(session: Session) -> dict[str, list[tuple[str, str]]]:
    """The values the filter form offers: products, distributors, compliance users."""
    products = [(p.gtin, p.name) for p in session.scalars(select(Product).order_by(Product.name))]
    parties = [(p.id, p.name) for p in session.scalars(
        select(Party).where(Party.role == PartyRole.DISTRIBUTOR).order_by(Party.name))]
    people = [(u.name, u.name) for u in session.scalars(
        select(User).where(User.role.in_([Role.COMPLIANCE, Role.ADMIN]), User.active)
        .order_by(User.name))]
    return {"products": products, "parties": parties, "people": people}


# --- one case -------------------------------------------------------------------------

STATUS_ACTIONS = {"investigating": _l("Investigate"), "confirmed": _l("Confirm"),
                  "dismissed": _l("Dismiss"), "resolved": _l("Resolve")}


@bp.get("/violations/<int:violation_id>")
@role_required(Role.COMPLIANCE)
def violation(violation_id: int) -> str:
    session = get_session()
    found = case.load_case(session, violation_id, actor=actor())
    remember_territory_names(session)
    people = _filter_choices(session)["people"]
    page = render_template("compliance/violation.html", case=found, people=people,
                           status_actions=STATUS_ACTIONS,
                           tiles=current_app.config.get("MAP_TILE_URL") or "")
    session.rollback()
    return page


@bp.get("/violations/<int:violation_id>/map.json")
@role_required(Role.COMPLIANCE)
def violation_map(violation_id: int) -> Response:
    session = get_session()
    data = case.case_map(session, violation_id, actor=actor())
    session.rollback()
    return jsonify(data)


@bp.get("/violations/<int:violation_id>/case-file.pdf")
@role_required(Role.COMPLIANCE)
def violation_case_file(violation_id: int) -> Response:
    """One PDF of the case in the reader's language, to hand over or keep for a dispute."""
    session = get_session()
    found = case.load_case(session, violation_id, actor=actor())
    remember_territory_names(session)
    data = case_file_data(found, session)
    session.rollback()
    pdf = render_case_file(data)
    return Response(pdf, mimetype="application/pdf", headers={
        "Content-Disposition": f"inline; filename=case-{violation_id}.pdf",
        "X-Content-Hash": content_hash(data)})


@bp.get("/scans/<int:scan_id>/photo.jpg")
@role_required(Role.COMPLIANCE)
def scan_photo(scan_id: int) -> Response:
    """An evidence scan's photo as the inspector sent it."""
    return _photo(scan_id, thumbnail=False)


@bp.get("/scans/<int:scan_id>/thumbnail.jpg")
@role_required(Role.COMPLIANCE)
def scan_thumbnail(scan_id: int) -> Response:
    """The small copy shown in the case's list of evidence scans."""
    return _photo(scan_id, thumbnail=True)


def _photo(scan_id: int, *, thumbnail: bool) -> Response:
    session = get_session()
    photo = evidence.get_photo(session, scan_id, actor=actor(), thumbnail=thumbnail)
    session.rollback()
    return jpeg_response(photo)


@bp.post("/violations/<int:violation_id>/status")
@role_required(Role.COMPLIANCE)
def change_status(violation_id: int) -> WerkzeugResponse:
    target = request.form.get("status", "")
    reason = request.form.get("reason", "").strip()
    return act(lambda session: violations.review(
        session, violation_id, status=target, note=reason, actor=actor()),
        back=_case(violation_id),
        done=_("The case is now %(status)s.", status=STATUS_LABELS.get(target, target)))


@bp.post("/violations/<int:violation_id>/assign")
@role_required(Role.COMPLIANCE)
def assign_case(violation_id: int) -> WerkzeugResponse:
    assignee = request.form.get("assignee") or None
    return act(lambda session: violation_queue.assign(
        session, [violation_id], assignee=assignee, actor=actor()), back=_case(violation_id),
        done=_("Assigned to %(name)s.", name=assignee) if assignee else _("Unassigned."))


@bp.post("/violations/<int:violation_id>/comments")
@role_required(Role.COMPLIANCE)
def comment(violation_id: int) -> WerkzeugResponse:
    body = request.form.get("body", "")
    return act(lambda session: case.add_comment(
        session, violation_id, body=body, actor=actor()), back=_case(violation_id),
        done=_("Comment added."))


def _case(violation_id: int) -> str:
    return url_for("compliance.violation", violation_id=violation_id)
