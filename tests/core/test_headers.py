"""Security headers on every URL of the URLconf, and no inline script or style anywhere.

The URL walk takes every pattern of the URLconf (so a new view is covered the day it is
added: one without an example value below fails the walk), requests it anonymously and as a
user who may open it, and checks the headers on whatever comes back: pages, redirects, 403s,
404s, file downloads. Each HTML page is parsed for inline script, inline style and event
handler attributes, which the Content-Security-Policy would block in the browser; the
templates are walked for the same, so a page no test renders is covered too.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path
from typing import cast

import pytest
from django.apps import apps
from django.conf import settings
from django.contrib.auth.models import User
from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver

from lpo_tracker.core.headers import permissions_policy
from supervision.models import Notification, ReminderKind, Submission
from tests import factories as f
from tests.conftest import Cast
from vendors.models import DueDiligenceRecord, RateCard

pytestmark = pytest.mark.django_db

MAIN_POLICY = {
    "default-src": "'self'", "script-src": "'self'", "style-src": "'self'",
    "img-src": "'self'", "font-src": "'self'", "connect-src": "'self'", "frame-src": "'self'",
    "object-src": "'none'", "base-uri": "'none'", "form-action": "'self'",
    "frame-ancestors": "'none'",
}


def directives(policy: str) -> dict[str, str]:
    """`"a x; b y"` → {"a": "x", "b": "y"}: django-csp writes directives in no fixed order."""
    parts = (part.strip().split(" ", 1) for part in policy.split(";") if part.strip())
    return {part[0]: part[1] if len(part) > 1 else "" for part in parts}


# --- Walking the URLconf -----------------------------------------------------------------


@dataclass(frozen=True)
class Route:
    template: str  # the concatenated route, converters still in it
    name: str | None

    @property
    def is_admin(self) -> bool:
        return self.template.startswith("admin/")


def routes(patterns: list[URLPattern | URLResolver] | None = None, prefix: str = "",
           namespace: str = "") -> Iterator[Route]:
    for pattern in patterns if patterns is not None else get_resolver().url_patterns:
        if isinstance(pattern, URLResolver):
            inner = f"{namespace}{pattern.namespace}:" if pattern.namespace else namespace
            yield from routes(pattern.url_patterns, prefix + str(pattern.pattern), inner)
        else:
            name = f"{namespace}{pattern.name}" if pattern.name else None
            yield Route(prefix + str(pattern.pattern), name)


@dataclass
class World:
    """One of every kind of object a URL can name."""

    cast: Cast
    superuser: User
    submission: Submission
    notification: Notification
    diligence: DueDiligenceRecord
    rate_card: RateCard


# Which object a URL's <int:pk> is, by URL name (namespace:name). A URL not listed here fails
# the walk with a request to add it.
PK_OF = {
    "matters:detail": "matter", "matters:audit_export": "matter",
    "matters:task_create": "matter", "matters:bulk_assign": "matter",
    "matters:task_assign": "task", "matters:task_reassign": "task",
    "matters:task_cancel": "task",
    "vendors:vendor_detail": "vendor", "vendors:set_status": "vendor",
    "vendors:diligence_add": "vendor", "vendors:declaration_add": "vendor",
    "vendors:rate_card_add": "vendor",
    "vendors:diligence_evidence": "diligence", "vendors:diligence_revoke": "diligence",
    "vendors:rate_line_add": "rate_card",
    "engagements:detail": "engagement", "engagements:conflict_check": "engagement",
    "engagements:consent": "engagement", "engagements:consent_evidence": "engagement",
    "portal:task": "task", "portal:task_start": "task", "portal:submission_upload": "task",
    "portal:submission_download": "submission",
    "supervision:task_detail": "task", "supervision:start": "task",
    "supervision:submission_upload": "task", "supervision:start_review": "task",
    "supervision:review": "task", "supervision:approve": "task",
    "supervision:request_changes": "task", "supervision:deliver": "task",
    "supervision:submission_download": "submission",
    "supervision:submission_inline": "submission",
    "supervision:notification_read": "notification",
    "supervision:supervision_file": "matter", "supervision:supervision_file_panel": "matter",
    "supervision:supervision_file_generate": "matter",
}


def _pk(world: World, kind: str) -> int:
    objects: dict[str, models.Model] = {
        "matter": world.cast.matter, "task": world.submission.task,
        "vendor": world.cast.engagement_a.vendor, "diligence": world.diligence,
        "rate_card": world.rate_card, "engagement": world.cast.engagement_a,
        "submission": world.submission, "notification": world.notification,
    }
    return int(objects[kind].pk)


def _admin_object_id(route: Route) -> str:
    """The pk of an existing row of the model an admin URL is about (0 when it has none)."""
    match = re.match(r"admin/(\w+)/(\w+)/", route.template)
    assert match, route
    model = apps.get_model(match[1], match[2])
    first = model._default_manager.order_by("pk").first()
    return str(first.pk if first is not None else 0)


def example_path(route: Route, world: World) -> str:
    values = {
        "matter_pk": str(world.cast.matter.pk),
        "uidb64": "MQ", "token": "set-password",
        "content_type_id": str(ContentType.objects.get_for_model(world.cast.matter).pk),
        "id": str(world.superuser.pk),
        "key": "no-such-key", "uidb36": "1", "action": "member_add",
    }

    def value(name: str) -> str:
        if name == "pk":
            kind = PK_OF.get(route.name or "")
            # A route not in PK_OF is asked for a missing object: its 404 page is checked.
            return str(_pk(world, kind)) if kind else "0"
        if name == "object_id":
            if route.name == "admin:view_on_site":
                return str(world.cast.matter.pk)
            return _admin_object_id(route)
        assert name in values, f"{route.template}: no example value for <{name}>"
        return values[name]

    # The admin's two regex routes: one app's index, and the catch-all for anything else.
    path = re.sub(r"\^\(\?P<app_label>[\w|]+\)/\$", "matters/", route.template)
    path = path.replace("(?P<url>.*)$", "no-such-admin-page/")
    # Other regex routes (allauth's confirm-email key): each named group gets its example.
    path = re.sub(r"\(\?P<(\w+)>[^)]*\)", lambda match: value(match[1]), path)
    if "^" in path:
        path = path.replace("^", "").replace("$", "")
    path = re.sub(r"<(?:\w+:)?(\w+)>", lambda match: value(match[1]), path)
    assert not re.search(r"[\^$()?\\]", path), f"teach example_path this route: {path}"
    return "/" + path


@pytest.fixture
def world(cast: Cast) -> World:
    task = cast.advance(cast.new_task(), "submitted")
    submission = Submission.objects.get(task=task)
    superuser = User.objects.create_superuser("root", "root@example.com", "x-Unused-9f3a")
    f.enrol_mfa(superuser)  # admins sign in with a second factor
    notification = Notification.objects.create(
        user=superuser, kind=ReminderKind.REVIEW_WAITING, subject="Review waiting")
    vendor = cast.engagement_a.vendor
    rate_card = RateCard.objects.create(vendor=vendor, name="Standard",
                                        effective_from=cast.matter.opened_on)
    return World(
        cast=cast, superuser=superuser, submission=submission, notification=notification,
        diligence=DueDiligenceRecord.objects.filter(vendor=vendor).earliest("pk"),
        rate_card=rate_card,
    )


# --- What every response carries ----------------------------------------------------------


def assert_security_headers(response: object, where: str) -> None:
    headers = response.headers  # type: ignore[attr-defined]
    policy = headers.get("Content-Security-Policy", "")
    assert policy, f"{where}: no Content-Security-Policy"
    assert headers["Permissions-Policy"] == permissions_policy(settings.PERMISSIONS_POLICY), where
    assert headers["Referrer-Policy"] == "same-origin", where
    assert headers["X-Content-Type-Options"] == "nosniff", where
    if policy == "sandbox":
        # The one framed response: the document viewer, same origin only, no script.
        assert headers["X-Frame-Options"] == "SAMEORIGIN", where
        return
    assert directives(policy) == MAIN_POLICY, where
    if headers.get("Content-Type", "").startswith("text/html"):
        assert headers["X-Frame-Options"] == "DENY", where


class InlineCode(HTMLParser):
    """Collects what a strict CSP would block: inline <script>, <style>, style="…",
    on…= handlers and javascript: URLs."""

    def __init__(self) -> None:
        super().__init__()
        self.found: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        names = {name for name, _ in attrs}
        # A JSON data block (json_script, allauth's WebAuthn ids) is never executed.
        data_block = dict(attrs).get("type") == "application/json"
        if tag == "script" and "src" not in names and not data_block:
            self.found.append(f"<script> without src {attrs}")
        if tag == "style":
            self.found.append("<style> element")
        for name, value in attrs:
            if name == "style":
                self.found.append(f"<{tag} style={value!r}>")
            if name.startswith("on"):
                self.found.append(f"<{tag} {name}=…> event handler")
            if name in ("href", "src", "action", "formaction") and (value or "").strip(
            ).lower().startswith("javascript:"):
                self.found.append(f"<{tag} {name}={value!r}>")


def inline_code_in(html: str) -> list[str]:
    parser = InlineCode()
    parser.feed(html)
    parser.close()
    return parser.found


def _client_for(route: Route, world: World) -> Client:
    client = Client()
    portal = route.template.startswith("portal/")
    client.force_login(world.cast.vendor_a_user if portal else world.superuser)
    return client


def test_every_url_sends_the_security_headers_and_pages_carry_no_inline_code(
    world: World,
) -> None:
    """Anonymous and signed-in GETs of every route: headers on every response; every HTML
    page parsed for inline code. The counts guard the walk itself."""
    pages = 0
    all_routes = list(routes())
    for route in all_routes:
        path = example_path(route, world)
        for who, client in (("anonymous", Client()), ("signed in", _client_for(route, world))):
            response = client.get(path)
            where = f"GET {path} ({who}) -> {response.status_code}"
            assert_security_headers(response, where)
            if response.status_code == 200 and response["Content-Type"].startswith("text/html"):
                pages += 1
                assert inline_code_in(response.content.decode()) == [], where

    assert len(all_routes) > 200  # the admin's routes included
    assert pages > 100


def test_error_pages_and_refusals_carry_the_policy_too(client: Client) -> None:
    for response in (client.get("/no-such-page/"), client.post("/accounts/login/", {})):
        assert_security_headers(response, f"{response.status_code}")


def test_static_files_carry_the_policy(settings: pytest.FixtureRequest) -> None:
    # WhiteNoise serves from the finders here: the tests have no collectstatic output.
    settings.WHITENOISE_USE_FINDERS = True  # type: ignore[attr-defined]
    settings.WHITENOISE_AUTOREFRESH = True  # type: ignore[attr-defined]

    response = Client().get("/static/lpo/app.css")

    assert response.status_code == 200
    assert_security_headers(response, "static file")


def test_the_document_viewer_is_sandboxed_and_framed_by_the_review_page_only(
    world: World,
) -> None:
    client = Client()
    client.force_login(world.cast.attorney)

    viewer = client.get(f"/submissions/{world.submission.pk}/inline/")
    review = client.get(f"/tasks/{world.submission.task_id}/review/")

    assert viewer["Content-Security-Policy"] == "sandbox"
    assert viewer["X-Frame-Options"] == "SAMEORIGIN"
    # The review page frames it: same origin, allowed by the page's frame-src 'self'.
    assert f'src="/submissions/{world.submission.pk}/inline/"' in review.content.decode()
    assert directives(review["Content-Security-Policy"])["frame-src"] == "'self'"
    assert review["X-Frame-Options"] == "DENY"


def test_htmx_is_told_not_to_inject_its_indicator_style(cast: Cast, client: Client) -> None:
    client.force_login(cast.attorney)

    page = client.get("/").content.decode()

    assert '"includeIndicatorStyles": false' in page
    assert ".htmx-indicator" in (Path(settings.BASE_DIR) / "lpo_tracker/static/lpo/app.css"
                                 ).read_text()


# --- The templates themselves --------------------------------------------------------------


def template_files() -> list[Path]:
    """The project's own templates (third-party ones are covered by the URL walk)."""
    base = Path(settings.BASE_DIR)
    roots = [Path(d) for engine in settings.TEMPLATES for d in cast(list[str], engine["DIRS"])]
    roots += [Path(app.path) / "templates" for app in apps.get_app_configs()
              if Path(app.path).is_relative_to(base) and ".venv" not in Path(app.path).parts]
    return sorted(p for root in roots if root.is_dir() for p in root.rglob("*.html"))


TEMPLATE_SYNTAX = re.compile(
    r"{%\s*comment\s*%}.*?{%\s*endcomment\s*%}|{#.*?#}|{%.*?%}|{{.*?}}", re.DOTALL)


def test_no_template_ships_inline_script_or_style() -> None:
    files = template_files()
    offenders = {
        str(path.relative_to(settings.BASE_DIR)): found
        for path in files
        if (found := inline_code_in(TEMPLATE_SYNTAX.sub("", path.read_text())))
    }

    assert len(files) > 40
    assert offenders == {}


def test_the_inline_code_detector_catches_what_the_policy_blocks() -> None:
    found = inline_code_in(
        '<script>alert(1)</script><script src="/static/x.js"></script><style>p{}</style>'
        '<p style="color:red" onclick="x()"><a href="javascript:void(0)">x</a></p>'
        '<script type="application/json">{"data": 1}</script>'
    )

    assert len(found) == 5
