"""Names for pages: territories in the page's language (``name_zh`` where the map has
it), parties by their name rather than their id."""

from __future__ import annotations

from flask import g
from sqlalchemy import select
from sqlalchemy.orm import Session

from tracker.models import Party, Territory


def remember_territory_names(session: Session) -> None:
    """Load every territory's names once for this request (``i18n.territory_label``)."""
    if "territory_names" in g:
        return
    rows = session.execute(select(Territory.code, Territory.name, Territory.properties))
    g.territory_names = {code: (name, (properties or {}).get("name_zh"))
                         for code, name, properties in rows}


def party_names(session: Session) -> dict[str, str]:
    """Every party's name by its id."""
    return {party_id: name for party_id, name in session.execute(select(Party.id, Party.name))}
