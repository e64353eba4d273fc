"""Users of every role with passwords, for the page tests."""

from __future__ import annotations

import pytest

from tests.pages import PASSWORDS
from tracker.db import make_session_factory
from tracker.services.auth import SYSTEM, create_user


@pytest.fixture()
def users(db):  # type: ignore[no-untyped-def]
    from tracker.services import masterdata

    with make_session_factory(db)() as session, session.begin():
        masterdata.create_party(session, id="dist-1", name="Dist", role="distributor",
                                territories=[], parent=None, actor=SYSTEM)
        for role, password in PASSWORDS.items():
            create_user(session, name=f"{role}-user", role=role, password=password,
                        party_id="dist-1" if role == "distributor" else None, actor=SYSTEM)
    return {role: f"{role}-user" for role in PASSWORDS}
