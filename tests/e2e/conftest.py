"""Browser tests: Debian's Chromium driven by Playwright (sync API) against pytest-django's
live server. No browser is ever downloaded (STACK.md).

- Playwright's sync API runs an event loop in the test thread, so Django's async-safety
  check is switched off for this process (DJANGO_ALLOW_ASYNC_UNSAFE).
- The live server only sees committed rows: these tests use
  `@pytest.mark.django_db(transaction=True)`.
- Without /usr/bin/chromium the tests fail in CI (a skipped browser suite proves nothing)
  and are skipped, with the reason, on a laptop.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import axe_playwright_python
import pytest
from django.contrib.auth.models import AbstractBaseUser
from django.urls import reverse
from playwright.sync_api import (
    Browser,
    BrowserContext,
    ConsoleMessage,
    Page,
    ViewportSize,
    expect,
    sync_playwright,
)

from tests.conftest import Cast, build_cast
from tests.factories import PASSWORD
from tests.plugins.services import in_ci

# Assertions wait as long as actions do (page.set_default_timeout below): an upload and its
# redirect took more than expect()'s 5 s default, then more than 15 s, on a loaded 2-core
# machine (load 10-25). Both are bounds on events, not waits: a healthy run never nears them.
E2E_TIMEOUT_MS = 60_000
expect.set_options(timeout=E2E_TIMEOUT_MS)

# Django reads this on every ORM call, so setting it here (before any test runs) suffices.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

REPO = Path(__file__).resolve().parents[2]
SCREENSHOTS = REPO / "test-artifacts" / "screenshots"
README_SCREENSHOTS = REPO / "docs" / "screenshots"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",  # runs as root in the container
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
# axe-core as shipped by the axe-playwright-python wheel (pinned in the lock file).
AXE_SCRIPT = Path(axe_playwright_python.__file__).parent / "axe.min.js"
VIEWPORT: ViewportSize = {"width": 1280, "height": 900}
BLOCKING_IMPACTS = ("serious", "critical")


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    if not CHROMIUM.exists():
        message = "Chromium is missing: apt-get install -y chromium (never `playwright install`)."
        if in_ci():
            pytest.fail(message)
        pytest.skip(message)
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
        )
        yield launched
        launched.close()


def unused_recovery_code(user: AbstractBaseUser) -> str:
    from allauth.mfa.models import Authenticator
    from allauth.mfa.recovery_codes.internal.auth import RecoveryCodes

    authenticator = Authenticator.objects.get(user=user, type=Authenticator.Type.RECOVERY_CODES)
    return str(RecoveryCodes(authenticator).get_unused_codes()[0])


@dataclass
class Site:
    """The live server, and one signed-in browser page per user."""

    url: str
    browser: Browser
    _contexts: list[BrowserContext] = field(default_factory=list)
    # What the browser refused under the Content-Security-Policy, on any page of the test.
    csp_violations: list[str] = field(default_factory=list)

    def page(self) -> Page:
        context = self.browser.new_context(viewport=VIEWPORT)
        self._contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(E2E_TIMEOUT_MS)
        page.on("console", self._note_csp_violation)
        return page

    def _note_csp_violation(self, message: ConsoleMessage) -> None:
        if "Content Security Policy" in message.text:
            self.csp_violations.append(message.text)

    def signed_in(self, user: AbstractBaseUser) -> Page:
        """A fresh browser session of `user`, signed in through the login form and, for a
        role that requires it, the second-factor form (with one of their recovery codes:
        an authenticator code could collide with one another test used seconds before)."""
        page = self.page()
        page.goto(self.url + reverse("login"))
        page.get_by_label("Username").fill(user.get_username())
        page.get_by_label("Password").fill(PASSWORD)
        login_url = page.url
        page.get_by_role("button", name="Sign in").click()
        # Signed in once the forms let go of us; where we land (dashboard, vendor portal)
        # belongs to other pages' tests.
        page.wait_for_url(lambda url: url != login_url)
        second_factor = self.url + reverse("mfa_authenticate")
        if page.url.startswith(second_factor):
            page.locator("input[name=code]").fill(unused_recovery_code(user))
            page.get_by_role("button", name="Sign in", exact=False).first.click()
            page.wait_for_url(lambda url: not url.startswith(second_factor))
        return page

    def go(self, page: Page, name: str, *args: object) -> None:
        page.goto(self.url + reverse(name, args=list(args)))

    def close(self) -> None:
        for context in self._contexts:
            context.close()


@pytest.fixture
def site(live_server: Any, browser: Browser) -> Iterator[Site]:
    running = Site(url=live_server.url, browser=browser)
    yield running
    running.close()
    assert running.csp_violations == [], "the browser refused content under the CSP"


@pytest.fixture
def e2e_cast(transactional_db: None) -> Cast:
    """The standard cast, committed so the live server sees it."""
    return build_cast()


def screenshot(page: Page, name: str, *, for_readme: bool = False) -> Path:
    """Save a full-page screenshot under test-artifacts/ (and docs/, for the README)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    if for_readme:
        README_SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, README_SCREENSHOTS / path.name)
    return path


def blocking_violations(page: Page) -> list[str]:
    """axe-core's serious and critical violations on the page, one line each."""
    # Evaluated, not added as a <script>: the pages' Content-Security-Policy (rightly) blocks
    # inline script, and DevTools evaluation is outside its reach.
    page.evaluate(AXE_SCRIPT.read_text())
    results = page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
    return [
        f"{violation['id']} ({violation['impact']}): {violation['help']} — "
        + "; ".join(node["target"][0] if isinstance(node["target"][0], str)
                    else str(node["target"]) for node in violation["nodes"][:5])
        for violation in results["violations"]
        if violation["impact"] in BLOCKING_IMPACTS
    ]


def sample_pdf(*lines: str) -> bytes:
    """A small, valid one-page PDF showing `lines`, so the review page has something to show.

    Built by hand (objects, then the cross-reference table of their byte offsets): no PDF
    library is needed for a page of plain text.
    """
    text = "\n".join(
        f"BT /F1 12 Tf 72 {720 - 18 * index} Td ({line.replace('(', '[').replace(')', ']')}) Tj ET"
        for index, line in enumerate(lines)
    ).encode("latin-1")
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n%s\nendstream" % (len(text), text),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    body = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, content in enumerate(objects, start=1):
        offsets.append(len(body))
        body += b"%d 0 obj\n%s\nendobj\n" % (number, content)
    xref = len(body)
    body += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    body += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    body += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1, xref)
    return bytes(body)
