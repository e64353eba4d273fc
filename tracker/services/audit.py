"""The tamper-evident audit log: every change to custody, violations, recalls, users,
tokens and territories appends one entry to a hash chain.

Each entry's ``hash`` is the SHA-256 of its canonical form (seq, time, actor, action,
subject, detail) together with ``prev_hash``, the hash of the entry before it; the first
links to ``GENESIS``. An entry edited behind the application's back no longer matches its
hash; one removed leaves a gap in the numbering and a broken link; one removed from the
end falls short of the chain head (``audit_heads``). :func:`verify` names the first.

The append runs in the caller's transaction, so a change rolled back leaves no entry.
Appenders take turns: on PostgreSQL a transaction-level advisory lock held until commit,
on SQLite the write lock every writer holds. A bulk operation (a batch of a million
serials, a receipt of ten thousand items, an EPCIS capture) appends one entry that
summarises it (counts, ids, a digest of the items), not one per item.
"""

from __future__ import annotations

import datetime as dt
import enum
import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import bindparam, insert, select
from sqlalchemy.orm import Session

from tracker.db import DirectConnection, Prepared, dialect_insert, table, utcnow
from tracker.models import AuditEntry, AuditHead

if TYPE_CHECKING:
    from tracker.services.auth import Actor

GENESIS = "0" * 64
_HEAD_ID = 1  # the one row of audit_heads
_CHAIN_LOCK = "audit chain"
VERIFY_CHUNK = 10_000

_entry, _head = table(AuditEntry).c, table(AuditHead).c
_READ_HEAD = Prepared(select(_head.seq, _head.hash).where(_head.id == _HEAD_ID))
_READ_TAIL = Prepared(select(_entry.seq, _entry.hash).order_by(_entry.seq.desc()).limit(1))
_INSERT_ENTRY = Prepared(insert(table(AuditEntry)), columns=(
    "seq", "at", "actor", "action", "subject_type", "subject_id", "detail", "prev_hash",
    "hash"))


def _move_head(dialect: str) -> Any:
    statement = dialect_insert(dialect)(table(AuditHead))
    return statement.on_conflict_do_update(
        index_elements=[_head.id],
        set_={"seq": statement.excluded.seq, "hash": statement.excluded.hash})


_MOVE_HEAD = Prepared(_move_head, columns=("id", "seq", "hash"))


def _plain(value: object) -> object:
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC).isoformat(timespec="microseconds")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, (set, frozenset, tuple)):
        return sorted(value) if isinstance(value, (set, frozenset)) else list(value)
    raise TypeError(f"{type(value).__name__} {value!r} has no place in an audit entry")


def canonical(value: object) -> str:
    """The one text form of a value that is hashed and stored: JSON with sorted keys and
    no spaces.

    >>> canonical({"b": 1, "a": [2, "x"]})
    '{"a":[2,"x"],"b":1}'
    """
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                      default=_plain)


def digest(items: Iterable[str]) -> str:
    """The SHA-256 of a list of items (keys, serials, event hashes) in the given order,
    one per line: what a bulk operation's entry records instead of the items.

    >>> digest(["a", "b"]) == hashlib.sha256(b"a\\nb\\n").hexdigest()
    True
    """
    # One text and one hash: a hash update per item costs several times as much.
    return hashlib.sha256("".join(f"{item}\n" for item in items).encode()).hexdigest()


def entry_hash(*, seq: int, at: dt.datetime, actor: str, action: str, subject_type: str,
               subject_id: str | None, detail: str, prev_hash: str) -> str:
    """The hash of an entry: SHA-256 over the canonical form of its fields, ``detail``
    as stored (canonical JSON text), and the previous entry's hash."""
    form = canonical([seq, _plain(at), actor, action, subject_type, subject_id, detail,
                      prev_hash])
    return hashlib.sha256(form.encode()).hexdigest()


def record(target: Session | DirectConnection, *, actor: Actor | str, action: str,
           subject_type: str, subject_id: object = None,
           detail: dict[str, Any] | None = None, now: dt.datetime | None = None) -> int:
    """Append an entry in the caller's transaction and return its number.

    ``action`` is a dotted verb (``custody.receive``); the subject names what changed
    (``shipment`` 12); ``detail`` holds plain values (counts, ids, digests). Call it
    last in a service, after its flush: the chain is held from here until commit."""
    db = target if isinstance(target, DirectConnection) else DirectConnection.of(target)
    db.serialize(_CHAIN_LOCK)
    previous = db.first(_READ_HEAD) or db.first(_READ_TAIL) or (0, GENESIS)
    seq, prev_hash = previous[0] + 1, previous[1]
    at = (now or utcnow()).astimezone(dt.UTC)
    fields = dict(seq=seq, at=at, actor=actor if isinstance(actor, str) else actor.name,
                  action=action, subject_type=subject_type,
                  subject_id=None if subject_id is None else str(subject_id),
                  detail=canonical(detail or {}), prev_hash=prev_hash)
    entry = {**fields, "hash": entry_hash(**fields)}  # type: ignore[arg-type]
    db.run(_INSERT_ENTRY, entry)
    db.run(_MOVE_HEAD, {"id": _HEAD_ID, "seq": seq, "hash": entry["hash"]})
    return seq


# --- verification --------------------------------------------------------------------


@dataclass(frozen=True)
class ChainReport:
    """What :func:`verify` found: how many entries it checked and the first problem
    (None: the chain is intact)."""

    entries: int
    head_hash: str
    problem: str | None

    @property
    def intact(self) -> bool:
        return self.problem is None


_PAGE = (select(_entry.seq, _entry.at, _entry.actor, _entry.action, _entry.subject_type,
                _entry.subject_id, _entry.detail, _entry.prev_hash, _entry.hash)
         .where(_entry.seq > bindparam("after")).order_by(_entry.seq).limit(VERIFY_CHUNK))


def _first_problem(session: Session) -> tuple[int, int, str, str | None]:
    """(entries read, last seq, last hash, the first problem or None)."""
    last_seq, last_hash, count = 0, GENESIS, 0
    while True:
        rows = session.execute(_PAGE, {"after": last_seq}).all()
        if not rows:
            break
        for (seq, at, actor, action, subject_type, subject_id, detail, prev_hash,
             stored_hash) in rows:
            if seq != last_seq + 1:
                gap = (f"entry {last_seq + 1} is" if seq == last_seq + 2
                       else f"entries {last_seq + 1} to {seq - 1} are")
                return count, last_seq, last_hash, (
                    f"audit {gap} missing: the entry after {last_seq or 'the start'} is {seq}")
            fields = dict(seq=seq, at=at, actor=actor, action=action,
                          subject_type=subject_type, subject_id=subject_id, detail=detail,
                          prev_hash=prev_hash)
            if entry_hash(**fields) != stored_hash:
                return count, last_seq, last_hash, (
                    f"audit entry {seq} was altered: its contents do not match its hash")
            if prev_hash != last_hash:
                # Each matches its own hash: one of the two was rewritten and rehashed.
                problem = (f"audit entry {last_seq} was altered: entry {seq} links to "
                           "another hash than its own" if last_seq else
                           f"audit entry {seq} was altered: it does not link to the start "
                           "of the chain")
                return count, last_seq, last_hash, problem
            last_seq, last_hash, count = seq, stored_hash, count + 1
    return count, last_seq, last_hash, None


def verify(session: Session) -> ChainReport:
    """Walk the chain from its first entry and name the first entry altered or removed."""
    count, last_seq, last_hash, problem = _first_problem(session)
    if problem is not None:
        return ChainReport(count, last_hash, problem)
    head = session.execute(select(_head.seq, _head.hash).where(_head.id == _HEAD_ID)).first()
    if head is None:
        if last_seq:
            problem = (f"the audit chain head is missing: the log holds {last_seq} entries "
                       "but nothing records where it ended")
    elif head.seq > last_seq:
        gap = (f"entry {head.seq} was" if head.seq == last_seq + 1
               else f"entries {last_seq + 1} to {head.seq} were")
        problem = (f"audit {gap} removed from the end of the log: the chain head records "
                   f"entry {head.seq}")
    elif head.seq < last_seq:
        problem = (f"audit entry {head.seq + 1} was added behind the application's back: "
                   f"the chain head records entry {head.seq}")
    elif head.hash != last_hash:
        problem = (f"audit entry {last_seq} was altered: the chain head records another "
                   "hash for it")
    return ChainReport(count, last_hash, problem)
