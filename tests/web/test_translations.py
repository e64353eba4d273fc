"""Every visible string has its Simplified Chinese translation: the catalogue holds every
message the code and templates mark, its compiled form says the same, and pages shown in
Chinese carry none of the English sentences."""

from __future__ import annotations

import gettext
import re
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from tests.pages import PASSWORDS, heading, sign_in

WEB = Path(__file__).resolve().parents[2] / "web"
CATALOGUE = WEB / "translations" / "zh" / "LC_MESSAGES"
METHODS = [("**.py", "python"), ("templates/**.html", "jinja2")]
KEYWORDS = {"_": None, "gettext": None, "ngettext": (1, 2), "lazy_gettext": None, "_l": None}


def marked_messages() -> set[str]:
    """Every message marked in the pages (web/) and the scanner app (scanner_app/)."""
    found = set()
    for package in (WEB, WEB.parent / "scanner_app"):
        for _file, _line, message, _comments, _context in extract_from_dir(
                str(package), METHODS, keywords=KEYWORDS):
            found.add(message[0] if isinstance(message, tuple) else message)
    return found


def catalogue():  # type: ignore[no-untyped-def]
    with open(CATALOGUE / "messages.po", "rb") as file:
        return read_po(file, locale="zh")


def test_every_marked_string_has_a_chinese_translation():
    translated = {}
    for message in catalogue():
        if not message.id:
            continue
        key = message.id[0] if isinstance(message.id, tuple) else message.id
        text = message.string if isinstance(message.string, str) else "".join(message.string)
        if text and "fuzzy" not in message.flags:
            translated[key] = text

    missing = sorted(marked_messages() - set(translated))

    assert missing == [], f"untranslated (run `make translations`): {missing}"


def test_the_compiled_catalogue_matches_the_source():
    with open(CATALOGUE / "messages.mo", "rb") as file:
        compiled = gettext.GNUTranslations(file)
    for message in catalogue():
        if message.id and isinstance(message.id, str) and message.string:
            assert compiled.gettext(message.id) == message.string, message.id


ENGLISH = sorted((m for m in marked_messages() if len(m) > 12 and "%(" not in m), key=len)


@pytest.mark.parametrize(("role", "page"), [
    (None, "/"), (None, "/login"), (None, "/no-such-page"), ("compliance", "/compliance/"),
    ("compliance", "/compliance/violations"), ("compliance", "/compliance/reports/"),
    ("admin", "/admin/"), ("inspector", "/compliance/"), ("distributor", "/portal/"),
    ("inspector", "/inspector/")])
def test_a_page_in_chinese_shows_no_english_sentence(client, users, role, page):
    chinese = {"Accept-Language": "zh-CN,zh;q=0.9"}
    if role:
        sign_in(client, users[role], PASSWORDS[role])
    text = client.get(page, headers=chinese).get_data(as_text=True)
    visible = re.sub(r"<[^>]+>", " ", re.sub(r"<(script|style)\b.*?</\1>", " ", text, flags=re.S))

    assert re.search(r"[\u4e00-\u9fff]", heading(client.get(page, headers=chinese)))
    assert [m for m in ENGLISH if m in visible] == []
