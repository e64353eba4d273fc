"""Signing in to the pages as a person does, shared by the page and browser tests."""

from __future__ import annotations

import re

PASSWORDS = {"admin": "pw-admin-1", "compliance": "pw-compliance-1",
             "inspector": "pw-inspector-1", "distributor": "pw-distributor-1"}


def csrf_of(page: str) -> str:
    match = re.search(r'<input[^>]*name="csrf_token"[^>]*value="([^"]+)"', page)
    assert match, "the page has no CSRF token"
    return match.group(1)


def sign_in(client, name: str, password: str, **headers: str):  # type: ignore[no-untyped-def]
    token = csrf_of(client.get("/login").get_data(as_text=True))
    return client.post("/login", data={"username": name, "password": password,
                                       "csrf_token": token}, headers=headers)


def heading(response) -> str:  # type: ignore[no-untyped-def]
    return re.findall(r"<h1[^>]*>(.*?)</h1>", response.get_data(as_text=True))[0]
