"""The webhooks pages through Flask's test client: adding one by the form (its secret
shown once), the list's state, counts and last answer, one webhook's deliveries with
every attempt, redelivery, disabling and enabling, deleting, paging and filtering,
compliance reading but not changing, CSRF, and the pages in Chinese."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import select, update

from tests.integration.test_webhooks import Receiver, policy, receiving, settle
from tests.pages import PASSWORDS, csrf_of, heading, sign_in
from tests.web.test_translations import ENGLISH
from tracker.db import make_session_factory, write_transaction
from tracker.models import DeliveryStatus, WebhookDelivery, WebhookEndpoint
from tracker.services import notify, webhooks
from tracker.services.auth import SYSTEM

PAGE = "/admin/webhooks"
GIVE_UP = policy(delays=())  # the first failed attempt is the last: the delivery fails


@pytest.fixture()
def admin(client, users):  # type: ignore[no-untyped-def]
    sign_in(client, users["admin"], PASSWORDS["admin"])
    return client


@pytest.fixture()
def compliance(client, users):  # type: ignore[no-untyped-def]
    sign_in(client, users["compliance"], PASSWORDS["compliance"])
    return client


@pytest.fixture()
def refusing() -> Iterator[Receiver]:
    """A receiver that answers 500 once, then 200."""
    with receiving(statuses=[500]) as receiver:
        yield receiver


def subscribe(db: Any, url: str = "https://hooks.example.com/in",
              events: tuple[str, ...] = ("shipment.received",)) -> int:
    with make_session_factory(db)() as session, write_transaction(session):
        found, _secret = webhooks.create_endpoint(session, url=url, events=list(events),
                                                  actor=SYSTEM)
        return found.endpoint.id


def announce(db: Any, times: int = 1, event: str = "shipment.received") -> None:
    with make_session_factory(db)() as session, write_transaction(session):
        for i in range(times):
            assert notify.emit(session, event, {"id": i}) is not None


def failed_delivery(db: Any, receiver: Receiver) -> tuple[int, int]:
    """A webhook to ``receiver`` and a delivery of it that failed (answered 500)."""
    webhook_id = subscribe(db, receiver.url)
    announce(db)
    settle(db, GIVE_UP)
    with make_session_factory(db)() as session:
        delivery = session.scalars(select(WebhookDelivery)).one()
        assert delivery.status is DeliveryStatus.FAILED
        return webhook_id, delivery.id


def post_form(client, path: str, data: dict[str, Any], page: str = PAGE):  # type: ignore[no-untyped-def]
    token = csrf_of(client.get(page).get_data(as_text=True))
    return client.post(path, data={**data, "csrf_token": token})


def text(response: Any) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", response.get_data(as_text=True)))


def endpoints(db: Any) -> list[WebhookEndpoint]:
    with make_session_factory(db)() as session:
        return list(session.scalars(select(WebhookEndpoint).order_by(WebhookEndpoint.id)))


def test_an_admin_adds_a_webhook_and_sees_its_secret_only_once(admin, db):
    added = post_form(admin, PAGE, {"url": "https://erp.example.com/hook",
                                    "events": ["violation.opened", "batch.recalled"]})
    assert (added.status_code, added.headers["Location"]) == (302, PAGE)

    shown = admin.get(PAGE)
    (endpoint,) = endpoints(db)
    assert endpoint.secret.startswith("whsec_")
    page = shown.get_data(as_text=True)
    assert re.search(rf"<code [^>]*data-secret>{re.escape(endpoint.secret)}</code>", page)
    assert "How the receiver checks that a delivery came from here" in page
    assert shown.headers["Cache-Control"] == "no-store"
    assert f'data-endpoint="{endpoint.id}"' in page
    assert "A violation is opened" in text(shown) and "A batch is recalled" in text(shown)

    again = admin.get(PAGE)
    assert endpoint.secret not in again.get_data(as_text=True)
    assert "data-secret" not in again.get_data(as_text=True)
    assert "no-store" not in again.headers.get("Cache-Control", "")


@pytest.mark.parametrize(("form", "problem"), [
    ({"url": "https://erp.example.com/hook"}, "tick at least one event type."),
    ({"url": "ftp://erp.example.com/hook", "events": ["batch.recalled"]},
     "the address must start with http:// or https:// and name a host."),
])
def test_a_refused_form_says_why_keeps_what_was_typed_and_adds_nothing(
        admin, db, form, problem):
    answer = post_form(admin, PAGE, form)

    assert answer.status_code == 400
    assert f"Nothing was added: {problem}" in text(answer)
    assert f'value="{form["url"]}"' in answer.get_data(as_text=True)
    for event in form.get("events", []):
        assert re.search(rf'value="{event}" id="event-\d+" checked', answer.get_data(
            as_text=True))
    assert endpoints(db) == []


def test_the_list_shows_a_failing_webhook_its_counts_and_last_answer(admin, db, refusing):
    webhook_id, _delivery = failed_delivery(db, refusing)
    announce(db, 2)  # two more, not sent yet

    page = admin.get(PAGE)
    row = re.search(rf'<tr data-endpoint="{webhook_id}">(.*?)</tr>', page.get_data(as_text=True),
                    re.S)
    assert row
    assert '<td class="table-danger"><span class="badge text-bg-danger" data-state="failing">' \
        in row.group(1), "the state is marked in colour as well as in words"
    cells = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", row.group(1)))
    assert "Failing" in cells and "every attempt failed since" in cells
    assert "answered 500" in cells
    assert re.search(r'data-count="delivered">0<', row.group(1))
    assert re.search(r'data-count="pending">2<', row.group(1))
    assert re.search(rf'href="/admin/webhooks/{webhook_id}\?status=failed">1<', row.group(1))


def test_a_webhooks_page_lists_each_delivery_with_every_attempt(admin, db, refusing):
    webhook_id, delivery_id = failed_delivery(db, refusing)

    page = admin.get(f"{PAGE}/{webhook_id}")
    html = page.get_data(as_text=True)
    row = re.search(rf'<tr data-delivery="{delivery_id}" data-status="failed">(.*?)</tr>'
                    r'\s*</tbody>\s*</table>\s*</div>', html, re.S)
    assert row
    assert '<td class="table-danger">' in row.group(1)
    cells = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", row.group(1)))
    assert "A shipment is received" in cells and "shipment.received" in cells
    assert "✗ Failed" in cells and "answered 500" in cells and "1 attempt" in cells
    attempts = re.findall(r'<tr data-attempt="(\d+)">(.*?)</tr>', row.group(1), re.S)
    assert [n for n, _ in attempts] == ["1"]
    cells = [re.sub(r"<[^>]+>", "", c).strip()
             for c in re.findall(r"<td[^>]*>(.*?)</td>", attempts[0][1], re.S)]
    assert cells[1:3] == ["500", "—"]
    assert 'data-action="redeliver"' in row.group(1)


def test_an_attempt_without_an_answer_says_why(admin, db):
    with receiving() as gone:
        url = gone.url
    webhook_id = subscribe(db, url)  # nobody listens there any more
    announce(db)
    settle(db, GIVE_UP)

    page = admin.get(f"{PAGE}/{webhook_id}").get_data(as_text=True)
    (attempt,) = re.findall(r'<tr data-attempt="1">(.*?)</tr>', page, re.S)
    assert "none" in attempt and "<code>" in attempt and "Connection" in attempt
    assert '<span class="text-danger-emphasis fw-semibold" data-answer="none">' in page


def test_redelivering_a_failed_delivery_sends_it_again_with_the_same_id(
        admin, db, refusing):
    webhook_id, delivery_id = failed_delivery(db, refusing)
    here = f"{PAGE}/{webhook_id}?status=failed"

    answer = post_form(admin, f"{PAGE}/{webhook_id}/deliveries/{delivery_id}/redeliver",
                       {"back": here}, page=here)
    assert (answer.status_code, answer.headers["Location"]) == (302, here)
    assert (f"Delivery {delivery_id} will be sent again in a moment, with the same "
            "webhook-id.") in text(admin.get(here))
    settle(db, GIVE_UP)

    assert len(refusing.received) == 2
    assert refusing.received[0].id == refusing.received[1].id
    delivered = admin.get(f"{PAGE}/{webhook_id}?status=delivered").get_data(as_text=True)
    assert f'<tr data-delivery="{delivery_id}" data-status="delivered"' in delivered
    assert "2 attempts" in delivered and "answered 200" in delivered
    listed = re.search(rf'<tr data-endpoint="{webhook_id}">(.*?)</tr>',
                       admin.get(PAGE).get_data(as_text=True), re.S)
    assert listed and 'data-answer="ok">✓ answered 200' in listed.group(1)  # the latest
    assert 'data-state="active"' in listed.group(1)  # a success ends the failing run


def test_an_admin_disables_and_enables_a_webhook(admin, db):
    webhook_id = subscribe(db)

    answer = post_form(admin, f"{PAGE}/{webhook_id}/enabled", {"enabled": "no"})
    assert answer.status_code == 302
    listed = admin.get(PAGE)
    assert (f"Webhook {webhook_id} disabled: its deliveries wait until it is enabled "
            "again.") in text(listed)
    assert "Reason: disabled by admin-user" in text(listed)
    assert endpoints(db)[0].disabled_at is not None

    post_form(admin, f"{PAGE}/{webhook_id}/enabled", {"enabled": "yes"})
    assert endpoints(db)[0].disabled_at is None
    assert f'data-endpoint="{webhook_id}"' in admin.get(PAGE).get_data(as_text=True)
    assert 'data-state="active"' in admin.get(PAGE).get_data(as_text=True)


def test_an_admin_deletes_a_webhook_after_confirming(admin, db):
    webhook_id = subscribe(db)
    page = admin.get(PAGE).get_data(as_text=True)
    assert f'<details class="d-inline-block align-top" data-delete="{webhook_id}">' in page

    answer = post_form(admin, f"{PAGE}/{webhook_id}/delete", {})

    assert (answer.status_code, answer.headers["Location"]) == (302, PAGE)
    assert f"Webhook {webhook_id} deleted." in text(admin.get(PAGE))
    assert endpoints(db) == []


def test_deliveries_are_paged_newest_first_and_filtered_by_status(admin, db):
    webhook_id = subscribe(db)
    announce(db, 45)
    with make_session_factory(db)() as session, write_transaction(session):
        ids = list(session.scalars(select(WebhookDelivery.id).order_by(WebhookDelivery.id)))
        session.execute(update(WebhookDelivery).where(WebhookDelivery.id.in_(ids[:3]))
                        .values(status=DeliveryStatus.FAILED, next_attempt_at=None))

    def shown(query: str) -> list[int]:
        page = admin.get(f"{PAGE}/{webhook_id}{query}").get_data(as_text=True)
        return [int(i) for i in re.findall(r'<tr data-delivery="(\d+)"', page)]

    seen = shown("") + shown("?page=2") + shown("?page=3")
    assert seen == ids[::-1]
    assert "Page 3 of 3" in text(admin.get(f"{PAGE}/{webhook_id}?page=3"))
    assert shown("?status=failed") == ids[2::-1]
    assert len(shown("?status=pending")) == 20
    assert shown("?status=pending&page=3") == ids[3:5][::-1]
    assert admin.get(f"{PAGE}/{webhook_id}?status=lost").status_code == 404


def test_an_unknown_webhook_is_404(admin):
    assert admin.get(f"{PAGE}/999").status_code == 404


def test_compliance_reads_the_webhooks_but_cannot_change_them(compliance, db, refusing):
    webhook_id, delivery_id = failed_delivery(db, refusing)

    listed = compliance.get(PAGE)
    one = compliance.get(f"{PAGE}/{webhook_id}")
    assert (listed.status_code, one.status_code) == (200, 200)
    assert "only an administrator can add, change or delete them" in text(listed)
    for page in (listed, one):
        html = page.get_data(as_text=True)
        assert 'method="post" action="/admin/webhooks' not in html
    token = csrf_of(listed.get_data(as_text=True))
    for path, form in [(PAGE, {"url": "https://x.example.com", "events": "batch.recalled"}),
                       (f"{PAGE}/{webhook_id}/enabled", {"enabled": "no"}),
                       (f"{PAGE}/{webhook_id}/delete", {}),
                       (f"{PAGE}/{webhook_id}/deliveries/{delivery_id}/redeliver", {})]:
        assert compliance.post(path, data={**form, "csrf_token": token}).status_code == 403
    (endpoint,) = endpoints(db)
    assert endpoint.disabled_at is None
    with make_session_factory(db)() as session:
        assert session.get(WebhookDelivery, delivery_id).status is DeliveryStatus.FAILED  # type: ignore[union-attr]


def test_a_form_without_its_csrf_token_changes_nothing(admin, db):
    webhook_id = subscribe(db)

    assert admin.post(PAGE, data={"url": "https://x.example.com",
                                  "events": "batch.recalled"}).status_code == 400
    assert admin.post(f"{PAGE}/{webhook_id}/delete").status_code == 400
    assert admin.post(f"{PAGE}/{webhook_id}/enabled", data={"enabled": "no"}
                      ).status_code == 400
    assert [(e.id, e.disabled_at) for e in endpoints(db)] == [(webhook_id, None)]


def test_an_address_is_shown_as_text(admin, db):
    subscribe(db, url="https://hooks.example.com/<script>alert(1)</script>")
    page = admin.get(PAGE).get_data(as_text=True)
    assert "<script>alert(1)" not in page
    assert "https://hooks.example.com/&lt;script&gt;alert(1)&lt;/script&gt;" in page


@pytest.mark.parametrize("role", ["admin", "compliance"])
def test_the_webhooks_pages_in_chinese_show_no_english_sentence(client, users, db, role,
                                                                 refusing):
    webhook_id, _delivery = failed_delivery(db, refusing)
    with make_session_factory(db)() as session, write_transaction(session):
        webhooks.set_enabled(session, webhook_id, enabled=False, actor=SYSTEM)
    sign_in(client, users[role], PASSWORDS[role])
    chinese = {"Accept-Language": "zh-CN,zh;q=0.9"}
    for path in (PAGE, f"{PAGE}/{webhook_id}"):
        page = client.get(path, headers=chinese)
        visible = re.sub(r"<[^>]+>", " ", re.sub(r"<(script|style)\b.*?</\1>", " ",
                                                 page.get_data(as_text=True), flags=re.S))
        assert re.search(r"[\u4e00-\u9fff]", heading(page))
        assert [m for m in ENGLISH if m in visible] == [], path


def test_the_navigation_leads_admin_and_compliance_to_the_webhooks(client, users):
    for role in ("admin", "compliance"):
        sign_in(client, users[role], PASSWORDS[role])
        home = client.get("/admin/" if role == "admin" else "/compliance/")
        assert 'data-nav="admin.webhooks.index"' in home.get_data(as_text=True)
        assert 'href="/admin/webhooks"' in home.get_data(as_text=True)
        client.post("/logout", data={"csrf_token": csrf_of(home.get_data(as_text=True))})
