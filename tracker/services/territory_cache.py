"""The territory index, built once per process and rebuilt when territories change."""

from __future__ import annotations

import threading
import time

import shapely
from sqlalchemy import func, select
from sqlalchemy.orm import Session, aliased

from tracker.db import DirectConnection, Prepared
from tracker.domain.territory_index import TerritoryIndex, TerritoryRecord
from tracker.models import Territory

_lock = threading.Lock()
_cache: dict[str, tuple[tuple[object, ...], TerritoryIndex]] = {}
_checked: dict[str, float] = {}
# Another process's territory import shows here within this many seconds; an import in
# this process shows at once (masterdata calls invalidate()).
RECHECK_SECONDS = 2.0


def invalidate() -> None:
    _checked.clear()


_VERSION = Prepared(select(func.count(Territory.id), func.max(Territory.updated_at),
                           func.max(Territory.id)))
_parent = aliased(Territory)
_ALL = Prepared(select(Territory.code, _parent.code, Territory.geometry_wkb)
                .outerjoin(_parent, _parent.id == Territory.parent_id))


def territory_index(db: Session | DirectConnection) -> TerritoryIndex:
    """The current index; one cheap query checks whether the cached one is stale."""
    if isinstance(db, Session):
        db = DirectConnection.of(db)
    url = db.url
    cached = _cache.get(url)
    if cached is not None and time.monotonic() - _checked.get(url, -1e9) < RECHECK_SECONDS:
        return cached[1]
    version = tuple(db.rows(_VERSION)[0])
    _checked[url] = time.monotonic()
    if cached is not None and cached[0] == version:
        return cached[1]
    with _lock:
        cached = _cache.get(url)
        if cached is not None and cached[0] == version:
            return cached[1]
        rows = db.rows(_ALL)
        index = TerritoryIndex.build(
            TerritoryRecord(code, parent_code, shapely.from_wkb(wkb) if wkb else None)
            for code, parent_code, wkb in rows
        )
        _cache[url] = (version, index)
        return index
