"""The distributor's portal: its own shipments and the violations attributed to it."""

from __future__ import annotations

from flask import Blueprint, render_template
from sqlalchemy import func, select

from tracker.models import CLOSED_STATUSES, Role, Shipment, ShipmentStatus, Violation
from web.auth import actor, role_required
from web.db import get_session

bp = Blueprint("portal", __name__, url_prefix="/portal")


@bp.get("/")
@role_required(Role.DISTRIBUTOR)
def home() -> str:
    session = get_session()
    party = actor().party_id
    to_receive = session.scalar(select(func.count()).select_from(Shipment).where(
        Shipment.to_party == party, Shipment.status == ShipmentStatus.IN_TRANSIT)) or 0
    open_violations = session.scalar(select(func.count()).select_from(Violation).where(
        Violation.responsible_party == party, Violation.status.not_in(CLOSED_STATUSES))) or 0
    session.rollback()
    return render_template("portal/home.html", party=party, to_receive=to_receive,
                           open_violations=open_violations)
