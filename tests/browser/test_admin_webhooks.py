"""The webhooks pages in Chromium: an admin subscribes a real local receiver that refuses
(answers 500), a batch is recalled, the delivery fails and the admin sees it, reads the
attempt and redelivers it once the receiver answers; the pages in Chinese, and on a
phone."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.integration.network import build
from tests.integration.test_webhooks import Receiver, policy, receiving, settle
from tests.pages import PASSWORDS
from tracker.db import make_session_factory, write_transaction
from tracker.services import violations
from tracker.services.auth import SYSTEM, create_user

GIVE_UP = policy(delays=())  # one failed attempt fails the delivery (no retry)


@pytest.fixture()
def net(db, settings, live_server):  # type: ignore[no-untyped-def]
    with make_session_factory(db)() as session, write_transaction(session):
        network = build(session, settings, quantity=2)
        for role in ("admin", "compliance"):
            create_user(session, name=f"{role}-user", role=role, password=PASSWORDS[role],
                        actor=SYSTEM)
    return network


@pytest.fixture()
def refusing() -> Iterator[Receiver]:
    """A receiver that answers the first POST with 500, the later ones with 200."""
    with receiving(statuses=[500]) as receiver:
        yield receiver


def follow(you: Any, target: Any) -> None:
    """Click what leads to another page, and wait for that page (not the one left)."""
    with you.page.expect_navigation():
        target.click()


def recall(db: Any, batch_id: int) -> None:
    with make_session_factory(db)() as session, write_transaction(session):
        violations.recall_batch(session, batch_id, reason="mislabelled", actor=SYSTEM)


def failed_webhook(db: Any, receiver: Receiver, you: Any) -> str:
    """The admin adds a webhook to ``receiver`` through the form; a recall's delivery to
    it fails. Its secret as the page showed it."""
    you.page.goto("/admin/webhooks")
    you.page.fill("input[name=url]", receiver.url)
    you.page.check("input[name=events][value='batch.recalled']")
    follow(you, you.page.locator("[data-action=add]"))
    return you.page.locator("[data-secret]").inner_text()


def test_an_admin_sees_a_failed_delivery_and_redelivers_it(person, db, net, refusing):
    you = person()
    you.sign_in("admin-user", PASSWORDS["admin"])
    follow(you, you.page.locator("[data-nav='admin.webhooks.index']"))
    assert you.page.locator("h1").inner_text() == "Webhooks"
    assert "No webhook yet." in you.page.locator("[data-endpoints]").inner_text()
    you.shot("no-webhook-yet")

    secret = failed_webhook(db, refusing, you)
    assert secret.startswith("whsec_") and len(secret) == 6 + 44
    assert "shown only this once" in you.page.locator("[data-new-webhook]").inner_text()
    row = you.page.locator("tr[data-endpoint]")
    assert row.locator("[data-state]").get_attribute("data-state") == "active"
    you.shot("added-secret-shown-once")
    assert you.accessibility_problems() == []

    recall(db, net.batch_id)
    settle(db, GIVE_UP)
    (attempt,) = refusing.received
    assert attempt.verified(secret)["type"] == "batch.recalled"  # the secret shown signs

    you.page.reload()
    assert you.page.locator("[data-secret]").count() == 0, "the secret is shown once only"
    assert you.page.locator("[data-signing-help]").count() == 1
    assert row.locator("td.table-danger [data-state]").count() == 1
    assert row.locator("[data-state]").inner_text() == "⚠ Failing"
    assert "answered 500" in row.inner_text()
    assert row.locator("[data-count=failed]").inner_text() == "1"
    you.shot("failing")

    follow(you, row.locator("[data-count=failed] a"))
    assert you.page.url.endswith("?status=failed")
    failed = you.page.locator("tr[data-delivery]")
    assert failed.count() == 1
    assert failed.get_attribute("data-status") == "failed"
    assert "✗ Failed" in failed.inner_text() and "A batch is recalled" in failed.inner_text()
    attempts = failed.locator("[data-attempts]")
    assert not attempts.locator("[data-attempt]").first.is_visible()
    attempts.locator("summary").click()
    assert "500" in attempts.locator("[data-attempt='1']").inner_text()
    you.shot("failed-delivery-attempts")
    assert you.accessibility_problems() == []

    follow(you, failed.locator("[data-action=redeliver]"))
    assert "will be sent again in a moment" in you.page.locator(".alert-success").inner_text()
    assert you.page.url.endswith("?status=failed")
    settle(db, GIVE_UP)
    follow(you, you.page.locator("[data-tab=all]"))
    delivered = you.page.locator("tr[data-delivery]")
    assert delivered.get_attribute("data-status") == "delivered"
    assert "✓ Delivered" in delivered.inner_text() and "answered 200" in delivered.inner_text()
    assert "2 attempts" in delivered.inner_text()
    assert [r.id for r in refusing.received] == [attempt.id] * 2
    you.shot("redelivered")

    follow(you, you.page.locator("[data-nav='admin.webhooks.index']"))
    assert row.locator("[data-state]").get_attribute("data-state") == "active"
    assert row.locator("[data-count=delivered]").inner_text() == "1"


def test_an_admin_disables_and_deletes_a_webhook(person, db, net):
    you = person()
    you.sign_in("admin-user", PASSWORDS["admin"])
    you.page.goto("/admin/webhooks")
    you.page.fill("input[name=url]", "https://erp.example.com/hooks/tracker")
    you.page.check("input[name=events][value='violation.opened']")
    follow(you, you.page.locator("[data-action=add]"))
    row = you.page.locator("tr[data-endpoint]")

    follow(you, row.locator("[data-action=disable]"))
    assert row.locator("[data-state]").inner_text() == "Disabled"
    assert "Reason: disabled by admin-user" in row.inner_text()
    you.shot("disabled")

    assert not row.locator("[data-action=delete]").is_visible()
    row.locator("[data-delete] summary").click()
    assert "This cannot be undone." in row.locator("[data-delete]").inner_text()
    you.shot("delete-asked")
    follow(you, row.locator("[data-action=delete]"))
    assert "deleted" in you.page.locator(".alert-success").inner_text()
    assert you.page.locator("tr[data-endpoint]").count() == 0


def test_the_webhooks_pages_in_chinese_and_on_a_phone(person, db, net, refusing):
    you = person(locale="zh-CN")
    you.sign_in("admin-user", PASSWORDS["admin"])
    follow(you, you.page.locator("[data-nav='admin.webhooks.index']"))
    assert you.page.locator("h1").inner_text() == "Webhook 推送"
    failed_webhook(db, refusing, you)
    assert "只显示这一次" in you.page.locator("[data-new-webhook]").inner_text()
    you.shot("added-zh")
    recall(db, net.batch_id)
    settle(db, GIVE_UP)

    you.page.reload()
    row = you.page.locator("tr[data-endpoint]")
    assert "持续失败" in row.locator("[data-state]").inner_text()
    you.shot("failing-zh")
    follow(you, row.locator("[data-action=open]"))
    failed = you.page.locator("tr[data-delivery]")
    assert "失败" in failed.inner_text() and "批次被召回" in failed.inner_text()
    failed.locator("[data-attempts] summary").click()
    you.shot("deliveries-zh")

    reader = person(locale="zh-CN", width=390, height=844)
    reader.sign_in("compliance-user", PASSWORDS["compliance"])
    reader.page.click("button.navbar-toggler")
    follow(reader, reader.page.locator("[data-nav='admin.webhooks.index']"))
    assert "只有管理员" in reader.page.locator("[data-read-only]").inner_text()
    assert reader.page.locator("[data-form=add-webhook]").count() == 0
    reader.shot("compliance-reads-on-a-phone-zh")
    follow(reader, reader.page.locator("tr[data-endpoint] [data-action=open]"))
    assert reader.page.locator("[data-action=redeliver]").count() == 0
    reader.shot("compliance-deliveries-on-a-phone-zh")
