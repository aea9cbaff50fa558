"""The one family of domain errors.

Services raise these with a message a user can act on; views turn them into form errors or
messages (never a 500), the admin into an error message, commands into a non-zero exit.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError


class RuleViolation(Exception):
    """A business rule refused the operation. `code` is stable for tests and the API."""

    def __init__(self, message: str, *, code: str = "rule_violation") -> None:
        super().__init__(message)
        self.message = message
        self.code = code

    def __str__(self) -> str:
        return self.message


class InvalidTransition(RuleViolation):
    """The task is not in a state that allows this step (often: someone else got there first)."""


class NotEligible(RuleViolation):
    """The user may see the object but may not perform this act on it."""


def validated(instance: Any, *, exclude: list[str] | None = None) -> None:
    """`full_clean()` with the model's messages turned into one RuleViolation (code
    "invalid"): how a service checks a model's own field rules before it saves."""
    try:
        instance.full_clean(exclude=exclude)
    except ValidationError as exc:
        raise RuleViolation("; ".join(exc.messages), code="invalid") from exc


class ConfirmationRequired(RuleViolation):
    """The act needs a fresh confirmation of who is at the keyboard (step-up) first."""
class UploadRejected(RuleViolation):
    """An uploaded file was refused (name, size, type, content or malware); nothing stored."""
