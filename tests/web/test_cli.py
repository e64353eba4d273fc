"""The ``tracker`` command run as a subprocess, as a script or a person runs it."""

from __future__ import annotations

import csv
import io
import json

from sqlalchemy import func, select

from tests.conftest import MAPS
from tracker.db import make_session_factory
from tracker.models import Batch, Party, Serial, Territory, User
from tracker.services.auth import authenticate_token


def test_db_upgrade_is_idempotent(run_cli):
    first = run_cli("db", "upgrade")
    second = run_cli("db", "upgrade")
    assert "database at revision" in first.stderr and second.returncode == 0
    assert run_cli("db", "current").stdout.strip() != "empty"


def test_users_create_prints_json_with_a_working_token(run_cli, db):
    result = run_cli("users", "create", "alice", "--role", "inspector", "--password-stdin",
                     input="pa55word\n")
    user = json.loads(result.stdout)
    assert (user["name"], user["role"]) == ("alice", "inspector")
    with make_session_factory(db)() as session:
        assert authenticate_token(session, user["token"]).name == "alice"
        stored = session.scalar(select(User.password_hash).where(User.name == "alice"))
        assert stored and "pa55word" not in stored


def test_distributor_without_party_fails_with_the_error_body(run_cli):
    result = run_cli("users", "create", "dist", "--role", "distributor", check=False)
    assert result.returncode == 1
    assert json.loads(result.stderr)["error"]["code"] == "party_required"


def test_scripted_setup_and_issue_with_progress(run_cli, tmp_path, db):
    run_cli("territories", "import", str(MAPS / "cn_provinces_ne10m.geojson"),
            "--code-property", "iso_3166_2")
    run_cli("products", "create", "4006381333931", "Tea")
    run_cli("parties", "create", "brand-1", "--name", "Brand", "--role", "brand",
            "--territory", "CN-GD")
    issued = run_cli("batches", "issue", "--gtin", "4006381333931", "--territory", "CN-GD",
                     "--quantity", "2500", "--lot", "A1")
    batch = json.loads(issued.stdout)
    assert batch["quantity"] == 2500 and batch["territory"] == "CN-GD"
    assert "issuing" in issued.stderr and "100%" in issued.stderr
    out = tmp_path / "codes.csv"
    run_cli("batches", "codes", str(batch["id"]), "--output", str(out))
    rows = list(csv.reader(io.StringIO(out.read_text())))
    assert rows[0] == ["serial", "uri"] and len(rows) == 2501
    assert rows[1][1] == f"https://id.example.com/01/04006381333931/10/A1/21/{rows[1][0]}"


def test_bad_geojson_file_leaves_nothing_behind(run_cli, tmp_path, db):
    bad = tmp_path / "bad.geojson"
    bad.write_text(json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"code": "OK", "name": "ok"},
         "geometry": {"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [1, 1], [0, 0]]]}},
        {"type": "Feature", "properties": {"name": "no code"},
         "geometry": {"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [1, 1], [0, 0]]]}},
    ]}))
    result = run_cli("territories", "import", str(bad), check=False)
    assert result.returncode == 1
    assert json.loads(result.stderr)["error"]["code"] == "invalid_geojson"
    with make_session_factory(db)() as session:
        assert session.scalar(select(func.count()).select_from(Territory)) == 0


def test_demo_twice_adds_nothing(run_cli, db):
    first = json.loads(run_cli("demo").stdout)
    assert first["batches"] > 0 and first["parties"] > 0

    def counts() -> tuple[int, ...]:
        with make_session_factory(db)() as session:
            return tuple(session.scalar(select(func.count()).select_from(m))
                         for m in (Territory, Party, Batch, Serial, User))

    before = counts()
    second = json.loads(run_cli("demo").stdout)
    assert (second["products"], second["parties"], second["batches"], second["users"]) == (
        0, 0, 0, [])
    assert counts() == before
    assert before[0] > 32 + 56  # provinces, states, two regions and the cities
