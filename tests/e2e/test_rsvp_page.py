"""The personal answer page in a real browser (Debian's Chromium driven by Playwright), on the
running stack: the link from a real invitation mail, a click, the answer in the case."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import httpx
import pytest

from tests.e2e.helpers import auth, invitations_settled, mails_about, wait_for
from tests.factories import registration

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(
        shutil.which("chromium") is None, reason="chromium is not installed (infra/ensure-chromium.sh)"
    ),
]


def test_expert_accepts_through_the_link_in_the_invitation(stack, tmp_path):
    from playwright.sync_api import sync_playwright

    r = httpx.post(f"{stack.api_url}/api/v1/registrations", json=registration(), headers=auth())
    ref = r.json()["reference"]
    wait_for(lambda: invitations_settled(stack.api_url, ref), what="invitations")
    expert_mail = next(
        m for _, _, m in mails_about(stack.mail_dir, ref) if "partners.example" in str(m["To"])
    )
    text = next(
        p.get_payload(decode=True).decode()
        for p in expert_mail.walk()
        if p.get_content_type() == "text/plain"
    )
    link = next(line.strip() for line in text.splitlines() if "/rsvp/" in line)
    token = link.split("/rsvp/", 1)[1]

    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=shutil.which("chromium"),
            args=["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        try:
            page = browser.new_page(locale="nl-BE")
            page.goto(f"{stack.api_url}/rsvp/{token}")
            assert ref in page.inner_text("body")
            page.screenshot(path=str(Path(os.environ.get("ZT_SCREENSHOT_DIR", tmp_path)) / "rsvp.png"))
            assert page.locator("html").get_attribute("lang") == "nl"
            page.get_by_role("button", name="Ik kom").click()
            page.wait_for_load_state()
            assert "u hebt de uitnodiging aanvaard" in page.get_by_role("status").inner_text()
            # ZT_SCREENSHOT_DIR keeps the picture for a person to look at.
            shots = Path(os.environ.get("ZT_SCREENSHOT_DIR", tmp_path))
            page.screenshot(path=str(shots / "rsvp-accepted.png"), full_page=True)
            # The browser's back button and a second click: the link is used up.
            page.goto(f"{stack.api_url}/rsvp/{token}")
            assert "al gebruikt" in page.get_by_role("alert").inner_text()
        finally:
            browser.close()

    case = httpx.get(f"{stack.api_url}/api/v1/cases/{ref}", headers=auth()).json()
    states = [p["invitation_state"] for p in case["zorgtafel"]["participants"] if p["role"] == "expert"]
    assert states.count("accepted") == 1
