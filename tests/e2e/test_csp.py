"""The Content-Security-Policy in a real browser: an injected inline script does not run,
and the browser's refusal is noticed (every e2e test fails on such a refusal, see the `site`
fixture, so the pages they drive run with nothing blocked)."""

from __future__ import annotations

import pytest
from django.urls import reverse

from tests.e2e.conftest import Site

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_the_browser_refuses_inline_script_and_the_tests_notice(site: Site) -> None:
    page = site.page()
    page.goto(site.url + reverse("login"))

    page.evaluate("""() => {
        const script = document.createElement("script");
        script.textContent = "window.injected = true";
        document.head.appendChild(script);
    }""")
    page.wait_for_function("() => true")  # let the console event arrive

    assert page.evaluate("() => window.injected === undefined")
    assert any("inline script" in text for text in site.csp_violations)
    site.csp_violations.clear()  # expected here; any other test fails on one
