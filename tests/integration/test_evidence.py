"""The evidence service on its own: a note and photo on a scan, kept whole or not at all,
what the case of a violation shows of them, and what a device's bad input gets."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from PIL import Image
from sqlalchemy import func, select

from tests.integration.network import GTIN, build
from tracker.config import Settings
from tracker.domain.photos import megabytes
from tracker.errors import InvalidInput, NotFound, PermissionDenied, TooLarge
from tracker.models import Role, ScanEvidence, ViolationAudit
from tracker.services import case, evidence, scans
from tracker.services.auth import SYSTEM, Actor

NOW = dt.datetime(2026, 12, 6, 12, 0, tzinfo=dt.UTC)


def jpeg(width: int = 320, height: int = 240, *, orientation: int | None = None) -> bytes:
    image = Image.new("RGB", (width, height), (200, 180, 40))
    image.paste((40, 40, 40), (0, 0, width // 2, height // 4))
    out = io.BytesIO()
    exif = Image.Exif()
    if orientation is not None:
        exif[0x0112] = orientation
    image.save(out, format="JPEG", exif=exif.tobytes())
    return out.getvalue()


@pytest.fixture()
def net(session, settings):  # type: ignore[no-untyped-def]
    return build(session, settings)


def inspector(user_id: int) -> Actor:
    return Actor(name=f"inspector-{user_id}", role=Role.INSPECTOR, user_id=user_id)


def record(session, settings, net, i=0, *, lon=5.0, actor=None, **extra):  # type: ignore[no-untyped-def]
    request = scans.ScanRequest(code=f"https://id.example.com/01/{GTIN}/21/{net.serials[i]}",
                                latitude=5.0, longitude=lon, **extra)
    return scans.record_scan(session, request, actor=actor or SYSTEM, settings=settings,
                             now=NOW)


def attach(session, settings, scan_id, actor=SYSTEM, **sent):  # type: ignore[no-untyped-def]
    checked = evidence.check_evidence(note=sent.get("note"), photo=sent.get("photo"),
                                      actor=actor, settings=settings)
    return evidence.attach_evidence(session, scan_id, checked, actor=actor, now=NOW)


def test_the_photo_is_kept_as_sent_with_its_size_and_an_upright_thumbnail(
        session, settings, net):
    scan_id = record(session, settings, net)["scan_id"]
    photo = jpeg(320, 240, orientation=6)  # the camera was turned: shown 240 wide, 320 tall

    stored = attach(session, settings, scan_id, photo=photo)

    assert (stored.photo_bytes, stored.photo_width, stored.photo_height) == (len(photo), 320,
                                                                             240)
    assert evidence.get_photo(session, scan_id, actor=SYSTEM) == photo
    thumbnail = evidence.get_photo(session, scan_id, actor=SYSTEM, thumbnail=True)
    with Image.open(io.BytesIO(thumbnail)) as small:
        assert (small.format, small.size) == ("JPEG", (240, 320))


def test_a_refused_photo_leaves_the_earlier_evidence_as_it_was(session, settings, net):
    scan_id = record(session, settings, net)["scan_id"]
    attach(session, settings, scan_id, note="first", photo=jpeg())

    with pytest.raises(InvalidInput):
        attach(session, settings, scan_id, note="second", photo=b"\x89PNG....")

    assert evidence.evidence_of(session, [scan_id])[scan_id].note == "first"


def test_the_photo_limit_is_a_setting(session, net):
    settings = Settings(database_url="sqlite://", max_photo_bytes=1000)
    photo = jpeg()
    assert len(photo) >= 1500

    with pytest.raises(TooLarge) as refused:
        evidence.check_evidence(note=None, photo=photo, actor=SYSTEM, settings=settings)

    assert str(refused.value) == f"photo is {megabytes(len(photo))}; the most is 0.001 MB"
    assert refused.value.code == "photo_too_large"


def test_only_the_scans_inspector_and_admin_may_add_evidence(session, settings, net, db):
    from tracker.services.auth import create_user

    owner, _ = create_user(session, name="owner", role="inspector", actor=SYSTEM)
    other, _ = create_user(session, name="other", role="inspector", actor=SYSTEM)
    scan_id = record(session, settings, net, actor=inspector(owner.id))["scan_id"]

    attach(session, settings, scan_id, inspector(owner.id), note="mine")
    with pytest.raises(NotFound):
        attach(session, settings, scan_id, inspector(other.id), note="theirs")
    with pytest.raises(PermissionDenied):
        attach(session, settings, scan_id, Actor(name="c", role=Role.COMPLIANCE), note="x")
    assert session.scalar(select(func.count()).select_from(ScanEvidence)) == 1


def test_the_case_shows_each_evidence_scans_note(session, settings, net):
    answer = record(session, settings, net, lon=25.0)  # in B: diverted
    attach(session, settings, answer["scan_id"], note="second shelf", photo=jpeg())

    found = case.load_case(session, answer["violation_id"], actor=SYSTEM)

    added = found.scan_evidence[answer["scan_id"]]
    assert (added.note, added.has_photo, added.added_by) == ("second shelf", True, "system")
    assert [a.action for a in found.audit] == ["opened", "evidence"]
    assert session.scalar(select(ViolationAudit.note).where(
        ViolationAudit.action == "evidence")) == (
        f"scan {answer['scan_id']}: photo ({megabytes(len(jpeg()))}) added, "
        "note added")
