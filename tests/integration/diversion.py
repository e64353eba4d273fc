"""A month of diversion on the small network (tests.integration.network), for the reports.

The report period is March 2024. On top of the network: A2 (4..6) inside A; t3, a tier-2
distributor for A1 and A2 under t1; t4, a distributor for B that receives nothing.

Receipts (items): t1 10 in March (2 more in February); t1b 4 in March (a case of 3 and
one loose); t2 3; t3 2 on 31 March at 23:59:59 (one more at 1 April 00:00, outside).

Diverted violations (scanned in B unless said otherwise):

====  ===========================  =====  ============  =======  ======================
name  opened                       party  expected      found    review
====  ===========================  =====  ============  =======  ======================
V1    2024-03-10                   t1     A             B        confirmed
V2    2024-03-11, at sea (50, 50)  t1     A             None
V11   2024-03-02                   t1     A             B
V3    2024-01-15                   t1     A             B        confirmed (a year back)
V8    2024-02-29 23:59:59          t1     A             B        (previous period)
V9    2024-04-01 00:00:00          t1     A             B        (after the period)
V4    2024-03-15                   t2     A1            B        confirmed, resolved
V10   2024-03-31 23:59:59          t2     A1            B
V5    2024-03-20                   t3     A1, A2        B        dismissed
V6    2024-03-25 (V5's serial)     t3     A1, A2        B
V7    2024-03-20                   brand  A             B
====  ===========================  =====  ============  =======  ======================

and an unknown code scanned on 2024-03-12 (a violation of another type, no party).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy.orm import Session

from tests.integration.network import GTIN, build, distributor, square
from tracker.config import Settings
from tracker.services import custody, masterdata, scans, violations
from tracker.services.auth import SYSTEM

SINCE = dt.datetime(2024, 3, 1, tzinfo=dt.UTC)
UNTIL = dt.datetime(2024, 4, 1, tzinfo=dt.UTC)  # excluded: March as a half-open period
IN_B = (5.0, 25.0)  # latitude, longitude
AT_SEA = (50.0, 50.0)


def at(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text).replace(tzinfo=dt.UTC)


@dataclass
class Diversion:
    serials: list[str]
    violation: dict[str, int]  # V1 .. V11 -> violation id


def build_diversion(session: Session, settings: Settings) -> Diversion:
    net = build(session, settings, quantity=40)
    s = net.serials
    masterdata.import_territories(session, actor=SYSTEM, collection={
        "type": "FeatureCollection", "features": [square("A2", 4, 4, 2, "A")]})
    masterdata.create_party(session, id="t3", name="t3", role="distributor",
                            territories=["A1", "A2"], parent="t1", actor=SYSTEM)
    masterdata.create_party(session, id="t4", name="t4", role="distributor",
                            territories=["B"], parent="brand", actor=SYSTEM)

    def move(sender: str, receiver: str, codes: list[str], received: str) -> None:
        actor = SYSTEM if sender == "brand" else distributor(sender)
        when = at(received)
        shipment = custody.record_shipment(session, from_party=sender, to_party=receiver,
                                           codes=codes, actor=actor,
                                           now=when - dt.timedelta(days=1))
        custody.receive_shipment(session, shipment_id=shipment.id,
                                 actor=distributor(receiver), now=when)

    move("brand", "t1", s[0:2], "2024-02-20T10:00:00")
    move("brand", "t1", s[2:12], "2024-03-05T10:00:00")
    (case,) = custody.create_containers(session, party="brand", kind="case",
                                        company_prefix="9506000", actor=SYSTEM)
    custody.pack(session, party="brand", container=case.sscc, codes=s[12:15], actor=SYSTEM)
    move("brand", "t1b", [case.sscc, s[15]], "2024-03-10T10:00:00")
    move("t1", "t2", s[2:5], "2024-03-12T10:00:00")
    move("t1", "t3", s[5:7], "2024-03-31T23:59:59")
    move("t1", "t3", s[7:8], "2024-04-01T00:00:00")

    opened: dict[str, int] = {}

    def scan(name: str, code: str, when: str, place: tuple[float, float] = IN_B,
             verdict: str = "diverted") -> None:
        answer = scans.record_scan(session, scans.ScanRequest(
            code=code, latitude=place[0], longitude=place[1]), actor=SYSTEM,
            settings=settings, now=at(when))
        assert answer["verdict"] == verdict, answer
        opened[name] = answer["violation_id"]

    def review(name: str, *statuses: str) -> None:
        for status in statuses:
            violations.review(session, opened[name], status=status, note="checked",
                              actor=SYSTEM)

    scan("V1", s[8], "2024-03-10T12:00:00")
    scan("V2", s[9], "2024-03-11T12:00:00", AT_SEA)
    scan("V11", s[1], "2024-03-02T12:00:00")
    scan("V3", s[0], "2024-01-15T12:00:00")
    scan("V8", s[10], "2024-02-29T23:59:59")
    scan("V9", s[11], "2024-04-01T00:00:00")
    scan("V4", s[2], "2024-03-15T12:00:00")
    scan("V10", s[3], "2024-03-31T23:59:59")
    scan("V5", s[5], "2024-03-20T12:00:00")
    review("V5", "dismissed")
    scan("V6", s[5], "2024-03-25T12:00:00")
    scan("V7", s[12], "2024-03-20T12:00:00")
    scan("unknown", f"https://id.example.com/01/{GTIN}/21/NEVERISSUED1",
         "2024-03-12T12:00:00", verdict="unknown_code")
    review("V1", "confirmed")
    review("V3", "confirmed")
    review("V4", "confirmed", "resolved")
    session.flush()
    return Diversion(s, opened)
