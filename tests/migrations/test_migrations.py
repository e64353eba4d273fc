"""The Alembic scripts build exactly the schema the models describe, and tear it down."""

from __future__ import annotations

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, text

from tracker import migrate
from tracker.db import Base, make_engine


def test_migrations_match_the_models(engine):
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        assert compare_metadata(context, Base.metadata) == []


def test_upgrade_twice_then_downgrade_to_nothing(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'm.db'}")
    migrate.upgrade(engine)
    migrate.upgrade(engine)
    assert set(inspect(engine).get_table_names()) >= set(Base.metadata.tables)
    config = migrate.alembic_config(engine.url.render_as_string(hide_password=False))
    command.downgrade(config, "base")
    assert set(inspect(engine).get_table_names()) == {"alembic_version"}
    engine.dispose()


def test_evidence_moves_from_violation_scans_to_the_scans_and_back(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'e.db'}")
    config = migrate.alembic_config(engine.url.render_as_string(hide_password=False))
    command.upgrade(config, "0003")
    scan = ("INSERT INTO scans (id, code, form, latitude, longitude, scanned_at, received_at, "
            "verdict, near_border, expected_territories, flags, response, violation_id) "
            "VALUES (:id, 'c', 'digital_link', 0, 0, '2026-01-01 00:00:00', "
            "'2026-01-01 00:00:00', 'diverted', 0, '[]', '[]', '{}', :violation)")
    with engine.begin() as connection:
        connection.execute(text(
            "INSERT INTO violations (id, key, type, status, expected_territories, scan_count, "
            "opened_at, updated_at) VALUES (7, 'k', 'diverted', 'open', '[]', 2, "
            "'2026-01-01 00:00:00', '2026-01-01 00:00:00')"))
        connection.execute(text(scan), [{"id": 1, "violation": 7}, {"id": 2, "violation": None},
                                         {"id": 3, "violation": None}])
        # Scan 2's link was only in violation_scans; scan 3 is evidence of nothing.
        connection.execute(text("INSERT INTO violation_scans VALUES (7, 1), (7, 2)"))
    command.upgrade(config, "head")
    assert "violation_scans" not in inspect(engine).get_table_names()
    with engine.connect() as connection:
        assert connection.execute(text("SELECT id, violation_id FROM scans ORDER BY id")
                                  ).all() == [(1, 7), (2, 7), (3, None)]
    command.downgrade(config, "0003")
    with engine.connect() as connection:
        assert connection.execute(text(
            "SELECT violation_id, scan_id FROM violation_scans ORDER BY scan_id")
        ).all() == [(7, 1), (7, 2)]
    engine.dispose()


def test_receipts_recorded_before_the_rollups_are_counted_into_them(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'r.db'}")
    config = migrate.alembic_config(engine.url.render_as_string(hide_password=False))
    command.upgrade(config, "0005")
    move = ("INSERT INTO custody_moves (key, kind, to_party, at) "
            "VALUES (:key, :kind, :party, :at)")
    with engine.begin() as connection:
        connection.execute(text(move), [
            # p received item 1 on two days (the later day recorded first), item 2 once,
            # and a pallet; q received item 1 once; a shipment is no receipt.
            {"key": "01/1/21/a", "kind": "receive", "party": "p", "at": "2026-03-05 10:00:00"},
            {"key": "01/1/21/a", "kind": "receive", "party": "p", "at": "2026-03-02 10:00:00"},
            {"key": "01/1/21/b", "kind": "receive", "party": "p", "at": "2026-03-02 23:00:00"},
            {"key": "00/123", "kind": "receive", "party": "p", "at": "2026-03-02 10:00:00"},
            {"key": "01/1/21/a", "kind": "receive", "party": "q", "at": "2026-03-02 10:00:00"},
            {"key": "01/1/21/a", "kind": "ship", "party": "q", "at": "2026-03-03 10:00:00"},
        ])
    command.upgrade(config, "0006")
    with engine.connect() as connection:
        assert connection.execute(text(
            "SELECT party_id, day, receipts FROM receipt_days ORDER BY party_id, day")
        ).all() == [("p", "2026-03-02", 2), ("p", "2026-03-05", 1), ("q", "2026-03-02", 1)]
        assert connection.execute(text(
            "SELECT party_id, key, at, previous_at FROM repeat_receipts")
        ).all() == [("p", "01/1/21/a", "2026-03-05 10:00:00", "2026-03-02 10:00:00")]
    engine.dispose()


def test_stored_events_get_their_query_fields_and_class_roles(tmp_path):
    """Events stored before 0015 are found by the new query parameters after it."""
    import json

    from tests.unit.test_epcis import TRANSFORMATION_EVENT_ALL_FIELDS
    from tracker.domain.epcis import normalise_event, query_fields

    engine = make_engine(f"sqlite:///{tmp_path / 'q.db'}")
    config = migrate.alembic_config(engine.url.render_as_string(hide_password=False))
    command.upgrade(config, "0014")
    document = normalise_event(TRANSFORMATION_EVENT_ALL_FIELDS).document
    classes = sorted({q["epcClass"] for k in ("inputQuantityList", "outputQuantityList")
                      for q in document[k]})
    with engine.begin() as connection:
        connection.execute(text(
            "INSERT INTO events (id, event_hash, event_id, event_type, event_time, "
            "event_timezone_offset, record_time, origin, document) VALUES (1, 'h', 'e', "
            "'TransformationEvent', '2026-01-01 00:00:00', '+00:00', '2026-01-01 00:00:00', "
            "'capture', :document)"), {"document": json.dumps(document)})
        connection.execute(text("INSERT INTO event_epcs VALUES (1, :key, 'quantity')"),
                           [{"key": key} for key in classes])
    command.upgrade(config, "head")
    with engine.connect() as connection:
        fields = connection.execute(text(
            "SELECT name, value FROM event_fields WHERE event_pk = 1 ORDER BY name, value")).all()
        roles = connection.execute(text(
            "SELECT role, count(*) FROM event_epcs GROUP BY role ORDER BY role")).all()
    assert fields == sorted((name, value) for name, value, _, _ in query_fields(document))
    assert ("transformationID", document["transformationID"]) in fields
    assert roles == [("in_class", 3), ("out_class", 3)]
    command.downgrade(config, "0014")
    with engine.connect() as connection:
        assert connection.execute(text("SELECT role, count(*) FROM event_epcs GROUP BY role")
                                  ).all() == [("quantity", 3)]
    engine.dispose()
