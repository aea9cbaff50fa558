"""The image's HEALTHCHECK probe (lpo_tracker/healthprobe.py) against a real server."""

from __future__ import annotations

import pytest
from pytest_django.live_server_helper import LiveServer

from lpo_tracker.healthprobe import probe, probe_host


@pytest.mark.parametrize(("allowed", "host"), [
    ("lpo.example.com, other.example.com", "lpo.example.com"),
    (".example.com", "probe.example.com"),
    ("*", "localhost"),
    ("", "localhost"),
])
def test_the_probe_names_a_host_the_app_accepts(allowed: str, host: str) -> None:
    assert probe_host(allowed) == host


@pytest.mark.django_db
def test_the_probe_passes_on_a_page_that_answers_and_fails_otherwise(
    live_server: LiveServer, settings: pytest.FixtureRequest
) -> None:
    settings.ALLOWED_HOSTS = ["lpo.example.com"]  # type: ignore[attr-defined]

    assert probe(live_server.url, path="/accounts/login/", allowed_hosts="lpo.example.com")
    # An unknown host is a 400 (DisallowedHost): the probe's Host header is what passes.
    assert not probe(live_server.url, path="/accounts/login/", allowed_hosts="evil.example")
    assert not probe(live_server.url, path="/no-such-page/", allowed_hosts="lpo.example.com")
    assert not probe("http://127.0.0.1:9", allowed_hosts="lpo.example.com", timeout=5)
