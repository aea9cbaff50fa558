"""Typed reading of environment variables that fails loudly, naming the variable.

django-environ does the URL parsing; this module wraps it so that every bad value raises
ImproperlyConfigured with the variable's name and what was expected, at start-up.
"""

from __future__ import annotations

import ipaddress
import os
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import environ
from django.core.exceptions import ImproperlyConfigured

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def _raw(name: str) -> str | None:
    value = os.environ.get(name)
    return None if value is None else value.strip()


def env_str(name: str, default: str) -> str:
    value = _raw(name)
    return default if value is None or value == "" else value


def env_bool(name: str, default: bool) -> bool:
    value = _raw(name)
    if value is None:
        return default
    lowered = value.lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise ImproperlyConfigured(f"{name}={value!r} is not a boolean; use true or false.")


def env_int(name: str, default: int, *, minimum: int | None = None) -> int:
    value = _raw(name)
    if value is None or value == "":
        return default
    try:
        number = int(value)
    except ValueError:
        raise ImproperlyConfigured(f"{name}={value!r} is not an integer.") from None
    if minimum is not None and number < minimum:
        raise ImproperlyConfigured(f"{name}={number} must be at least {minimum}.")
    return number


def env_list(name: str, default: list[str]) -> list[str]:
    value = _raw(name)
    if value is None or value == "":
        return default
    return [item.strip() for item in value.split(",") if item.strip()]


def env_choice(name: str, default: str, choices: tuple[str, ...]) -> str:
    value = env_str(name, default)
    if value not in choices:
        raise ImproperlyConfigured(f"{name}={value!r} must be one of: {', '.join(choices)}.")
    return value


def env_timezone(name: str, default: str) -> str:
    value = env_str(name, default)
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ImproperlyConfigured(f"{name}={value!r} is not an IANA time zone.") from None
    return value


def env_database(name: str, default: dict[str, Any]) -> dict[str, Any]:
    value = _raw(name)
    if value is None or value == "":
        return default
    try:
        config = environ.Env.db_url_config(value)
    except Exception as exc:  # django-environ raises several types for a bad URL
        raise ImproperlyConfigured(f"{name} is not a valid database URL: {exc}") from None
    engine = config.get("ENGINE", "")
    if engine not in ("django.db.backends.postgresql", "django.db.backends.sqlite3"):
        raise ImproperlyConfigured(
            f"{name} must be a postgres:// or sqlite:// URL (got engine {engine or 'unknown'})."
        )
    if engine == "django.db.backends.postgresql" and not config.get("NAME"):
        raise ImproperlyConfigured(f"{name} must name a database, e.g. postgres://host/lpo.")
    return config


def env_redis_url(name: str) -> str | None:
    value = _raw(name)
    if value is None or value == "":
        return None
    if not value.startswith(("redis://", "rediss://", "unix://")):
        raise ImproperlyConfigured(f"{name}={value!r} must start with redis:// or rediss://.")
    return value


def env_keyed_secrets(name: str, *, min_length: int) -> dict[str, str]:
    """`id:secret,id:secret` (e.g. retired audit keys) as a dict; each secret long enough."""
    keys: dict[str, str] = {}
    for item in env_list(name, []):
        key_id, separator, secret = item.partition(":")
        key_id, secret = key_id.strip(), secret.strip()
        if not separator or not key_id or not secret:
            raise ImproperlyConfigured(f"{name} must be a comma-separated list of id:secret.")
        if len(secret) < min_length:
            raise ImproperlyConfigured(
                f"{name}: the secret of key {key_id!r} must be {min_length}+ characters."
            )
        keys[key_id] = secret
    return keys
def env_networks(name: str, default: list[str]) -> list[str]:
    """A comma-separated list of IP addresses or CIDR networks, each checked."""
    values = env_list(name, default)
    for value in values:
        try:
            ipaddress.ip_network(value, strict=False)
        except ValueError:
            raise ImproperlyConfigured(
                f"{name}: {value!r} is not an IP address or network (e.g. 10.0.0.5, 10.0.0.0/24)."
            ) from None
    return values


def env_clamav_address(name: str, *, default_socket: str) -> str:
    """Where clamd listens, as `unix:///path` or `tcp://host:port`; "" when scanning is off.

    Unset: the distribution's socket if it exists (clamd installed on this host), else off.
    "off" switches scanning off explicitly.
    """
    value = _raw(name)
    if value is None or value == "":
        return f"unix://{default_socket}" if Path(default_socket).exists() else ""
    if value.lower() == "off":
        return ""
    if value.startswith("/"):
        return f"unix://{value}"
    parts = urlsplit(value)
    if parts.scheme == "unix" and parts.path:
        return value
    if parts.scheme == "tcp" and parts.hostname:
        try:
            port = parts.port
        except ValueError:
            port = None
        if port:
            return value
    raise ImproperlyConfigured(
        f"{name}={value!r} must be unix:///path/to/clamd.sock, tcp://host:port or off."
    )
