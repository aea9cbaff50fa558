"""The pages a supervising attorney and a vendor manager use most, on a 390 px phone, as the
demo's own people (`manage.py seed_demo`): nothing scrolls sideways but a table inside its
wrapper, which then takes the keyboard focus; the focus ring keeps 3:1 against what is
behind it; a review-queue row is one tab stop. And the error pages: in the layout, with no
serious or critical axe-core violation, at 390 px too.

Signing in goes through a session made by Django's test client (the sign-in form and its
second factor have their own browser tests); the browser gets its cookie."""

from __future__ import annotations

import io
from typing import Any

import pytest
from django.conf import settings
from django.contrib.auth.models import User
from django.core.management import call_command
from django.test import Client
from django.urls import reverse
from playwright.sync_api import Page, expect

from matters.models import Task, TaskStatus
from tests.conftest import Cast
from tests.e2e.conftest import Site, blocking_violations, screenshot
from vendors.models import Vendor

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

PHONE = {"width": 390, "height": 844}
# The demo's responsible partner (supervises matters with reviews waiting) and its vendor
# manager; Lagan Legal is the demo vendor whose SOC 2 report expired.
ATTORNEY = "eleanor.hale"
VENDOR_MANAGER = "riskadmin"
LAPSED_VENDOR = "Lagan Legal"

# WCAG relative luminance and contrast, of the outline colour against the first opaque
# background behind the focused element (the outline is drawn outside it, so its parent's).
FOCUS_CONTRAST_JS = """
() => {
  const el = document.activeElement;
  const rgb = (value) => (value.match(/[\\d.]+/g) || []).map(Number);
  const lum = ([r, g, b]) => {
    const c = [r, g, b].map((v) => {
      v /= 255;
      return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4;
    });
    return 0.2126 * c[0] + 0.7152 * c[1] + 0.0722 * c[2];
  };
  let node = el.parentElement, bg = null;
  while (node) {
    const colour = rgb(getComputedStyle(node).backgroundColor);
    if (colour.length === 3 || (colour.length === 4 && colour[3] === 1)) {
      bg = colour.slice(0, 3);
      break;
    }
    node = node.parentElement;
  }
  bg = bg || [255, 255, 255];
  const style = getComputedStyle(el);
  const ring = rgb(style.outlineColor).slice(0, 3);
  const [hi, lo] = [lum(ring), lum(bg)].sort((a, b) => b - a);
  return {tag: el.tagName, text: (el.textContent || "").trim().slice(0, 40),
          outline: style.outlineStyle, width: parseFloat(style.outlineWidth),
          ratio: (hi + 0.05) / (lo + 0.05), background: bg, ring: ring};
}
"""

TAB_STOPS_PER_ROW_JS = """
() => Array.from(document.querySelectorAll('#review-queue tbody tr')).map((row) => {
  const inside = row.querySelectorAll('a[href], button, input, select, textarea, [tabindex]');
  const focusable = [row, ...inside];
  return focusable.filter((el) => el.tabIndex >= 0 && !el.disabled).length;
})
"""


def phone_page(site: Site, user: User) -> Page:
    """A 390 px browser page signed in as `user` (a session of Django's test client)."""
    client = Client()
    client.force_login(user)
    page = site.page()
    page.set_viewport_size(PHONE)  # type: ignore[arg-type]
    page.context.add_cookies([{
        "name": settings.SESSION_COOKIE_NAME,
        "value": client.cookies[settings.SESSION_COOKIE_NAME].value,
        "url": site.url,
    }])
    return page


def page_width(page: Page) -> int:
    return int(page.evaluate("document.documentElement.scrollWidth"))


def assert_fits(page: Page, name: str) -> None:
    screenshot(page, f"phone-{name}")
    width = page_width(page)
    assert width <= PHONE["width"], f"{name} is {width} px wide at {PHONE['width']} px"


def tab_until(page: Page, predicate: str, limit: int = 60) -> dict[str, Any]:
    """Press Tab until the focused element satisfies the JS `predicate`; its focus facts."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        if page.evaluate(f"() => {{ const el = document.activeElement; return {predicate}; }}"):
            return dict(page.evaluate(FOCUS_CONTRAST_JS))
    raise AssertionError(f"no tab stop matched {predicate}")


@pytest.fixture
def demo(transactional_db: None) -> dict[str, Any]:
    call_command("seed_demo", stdout=io.StringIO())
    users = {user.username: user for user in User.objects.filter(
        username__in=[ATTORNEY, VENDOR_MANAGER])}
    waiting = (Task.objects.filter(status=TaskStatus.SUBMITTED,
                                   matter__memberships__user=users[ATTORNEY])
               .order_by("pk").first())
    assert waiting is not None
    return {**users, "task": waiting, "vendor": Vendor.objects.get(name=LAPSED_VENDOR)}


def test_the_main_pages_fit_a_phone(site: Site, demo: dict[str, Any]) -> None:
    attorney = phone_page(site, demo[ATTORNEY])

    site.go(attorney, "supervision:dashboard")
    expect(attorney.get_by_role("heading", name="Dashboard", exact=False).first).to_be_visible()
    assert_fits(attorney, "dashboard")

    site.go(attorney, "supervision:review_queue")
    expect(attorney.locator("#review-queue")).to_be_visible()
    assert_fits(attorney, "review-queue")

    site.go(attorney, "supervision:task_detail", demo["task"].pk)
    expect(attorney.get_by_role("heading", name=demo["task"].title)).to_be_visible()
    assert_fits(attorney, "task")

    manager = phone_page(site, demo[VENDOR_MANAGER])
    site.go(manager, "vendors:vendor_detail", demo["vendor"].pk)
    lapsed = manager.locator("#diligence-lapsed")
    expect(lapsed).to_be_visible()
    expect(lapsed).to_contain_text("no valid SOC 2 Type II report or ISO/IEC 27001 certificate")
    assert_fits(manager, "vendor")


def test_a_scrolling_table_wrapper_takes_the_focus_and_scrolls(site: Site,
                                                             demo: dict[str, Any]) -> None:
    manager = phone_page(site, demo[VENDOR_MANAGER])
    site.go(manager, "vendors:vendor_detail", demo["vendor"].pk)
    wrapper = manager.locator("#diligence .table-wrap")
    expect(wrapper).to_have_attribute("tabindex", "0")
    expect(wrapper).to_have_attribute("role", "region")
    expect(wrapper).to_have_attribute("aria-label", "Due-diligence records, by document "
                                                    "(scrolls sideways)")
    # Reached with the keyboard, and scrolled with it.
    facts = tab_until(manager, "el.matches('#diligence .table-wrap')")
    assert facts["ratio"] >= 3, facts
    manager.keyboard.press("ArrowRight")
    manager.keyboard.press("ArrowRight")
    manager.wait_for_function(
        "() => document.querySelector('#diligence .table-wrap').scrollLeft > 0")
    # At desktop width the same table fits: no tab stop of its own.
    manager.set_viewport_size({"width": 1280, "height": 900})
    expect(wrapper).not_to_have_attribute("tabindex", "0")


def test_the_focus_ring_keeps_three_to_one_wherever_it_lands(site: Site,
                                                            demo: dict[str, Any]) -> None:
    attorney = phone_page(site, demo[ATTORNEY])
    site.go(attorney, "supervision:dashboard")
    seen: list[dict[str, Any]] = []
    for _ in range(25):  # the skip link, the top bar (dark), then the page (light)
        attorney.keyboard.press("Tab")
        seen.append(dict(attorney.evaluate(FOCUS_CONTRAST_JS)))
    light = [facts for facts in seen if sum(facts["background"]) > 600]
    dark = [facts for facts in seen if sum(facts["background"]) < 300]
    assert light and dark, seen
    for facts in seen:
        assert facts["outline"] != "none" and facts["width"] >= 2, facts
        assert facts["ratio"] >= 3, facts


def test_a_review_queue_row_is_one_tab_stop(site: Site, demo: dict[str, Any]) -> None:
    attorney = phone_page(site, demo[ATTORNEY])
    site.go(attorney, "supervision:review_queue")
    stops = attorney.evaluate(TAB_STOPS_PER_ROW_JS)
    assert len(stops) >= 2 and set(stops) == {1}, stops
    # One Tab moves from one row to the next.
    tab_until(attorney, "el.closest('#review-queue tbody tr') !== null")
    first = attorney.evaluate("document.activeElement.closest('tr').rowIndex")
    attorney.keyboard.press("Tab")
    assert attorney.evaluate("document.activeElement.closest('tr').rowIndex") == first + 1


def test_error_pages_are_accessible_and_fit_a_phone(site: Site, e2e_cast: Cast,
                                                    settings: Any) -> None:
    cast = e2e_cast
    submitted = cast.advance(cast.task, TaskStatus.SUBMITTED)
    found: dict[str, list[str]] = {}

    staff = phone_page(site, cast.staff_on)
    staff.goto(site.url + "/no-such-page/")
    expect(staff.get_by_role("heading", name="There is no such page")).to_be_visible()
    found["404 (staff)"] = blocking_violations(staff)
    assert_fits(staff, "404")

    site.go(staff, "supervision:review", submitted.pk)
    expect(staff.get_by_role("heading", name="Another attorney must review this work")
           ).to_be_visible()
    found["403 review (staff)"] = blocking_violations(staff)
    assert_fits(staff, "403-review")

    vendor = phone_page(site, cast.vendor_a_user)
    site.go(vendor, "supervision:review", submitted.pk)
    expect(vendor.get_by_role("link", name="Your tasks in the vendor portal")).to_be_visible()
    found["403 review (vendor)"] = blocking_violations(vendor)
    vendor.goto(site.url + reverse("matters:list"))
    expect(vendor.get_by_role("heading", name="There is no such page")).to_be_visible()
    found["404 (vendor)"] = blocking_violations(vendor)

    settings.ROOT_URLCONF = "tests.core.error_urls"
    anonymous = site.page()
    anonymous.set_viewport_size(PHONE)  # type: ignore[arg-type]
    anonymous.goto(site.url + "/test-crash/")
    expect(anonymous.get_by_role("heading", name="Something went wrong on our side")
           ).to_be_visible()
    found["500"] = blocking_violations(anonymous)
    assert_fits(anonymous, "500")

    assert {page: problems for page, problems in found.items() if problems} == {}
