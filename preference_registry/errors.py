"""Problems found in a registry document, each pinned to a place in the file."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import msgspec

__all__ = [
    "MAX_REPORTED_ISSUES",
    "RegistryIssue",
    "RegistryLoadError",
    "Severity",
    "UnknownKindError",
    "ValueValidationError",
]

Severity = Literal["error", "warning"]


class RegistryIssue(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """One problem in a registry document."""

    path: str
    """Where in the document, e.g. ``preferences[3].max``; empty for the document as a whole."""
    message: str
    """What is wrong, in a sentence."""
    expected: str | None = None
    """What the format expects there."""
    got: str | None = None
    """What the document has there."""
    severity: Severity = "error"
    """``error`` rejects the document; ``warning`` is reported but the document is accepted."""
    source: str | None = None
    """File name or origin of the document."""

    def __str__(self) -> str:
        where = ": ".join(part for part in (self.source, self.path) if part)
        detail = self.message
        if self.expected is not None or self.got is not None:
            detail += f" (expected {self.expected or '?'}, got {self.got or '?'})"
        prefix = "warning: " if self.severity == "warning" else ""
        return f"{where}: {prefix}{detail}" if where else f"{prefix}{detail}"


MAX_REPORTED_ISSUES = 1000
"""Most issues one refusal lists; beyond it a last issue counts the rest. Every real list of mistakes fits; a
generated document with 100,000 unknown fields must not become a 30 MB error response, status or log line."""


class RegistryLoadError(ValueError):
    """A registry document was rejected; ``issues`` lists every error (and warning) at once, up to
    :data:`MAX_REPORTED_ISSUES`."""

    def __init__(self, issues: list[RegistryIssue], source: str | None = None) -> None:
        if len(issues) > MAX_REPORTED_ISSUES:
            errors = [issue for issue in issues if issue.severity == "error"]
            kept = errors[:MAX_REPORTED_ISSUES]
            more = RegistryIssue(path="", message=f"... and {len(errors) - len(kept)} more errors not listed",
                                 source=source)
            issues = [*kept, more] if len(errors) > len(kept) else kept
        self.issues = issues
        self.source = source
        errors = [issue for issue in issues if issue.severity == "error"]
        lines = "\n".join(f"  - {issue}" for issue in errors)
        super().__init__(f"registry {source or 'document'} has {len(errors)} error(s):\n{lines}")

    @property
    def errors(self) -> list[RegistryIssue]:
        return [issue for issue in self.issues if issue.severity == "error"]


class ValueValidationError(ValueError):
    """A value submitted for a preference does not fit its declared type."""

    def __init__(self, key: str, message: str, *, expected: str | None = None, got: str | None = None,
                 path: str = "value") -> None:
        self.key = key
        self.message = message
        self.expected = expected
        self.got = got
        self.path = path
        detail = message
        if expected is not None or got is not None:
            detail += f" (expected {expected or '?'}, got {got or '?'})"
        super().__init__(f"{key}: {detail}")


class UnknownKindError(LookupError):
    """A preference kind that is not in :data:`preference_registry.kinds.KINDS` reached code that dispatches
    by kind. A registry file with an unknown ``kind`` never gets this far (the loader reports it as an issue
    of the file); this is a defect of the caller, refused with a message instead of failing inside another
    kind's code."""

    def __init__(self, kind: str, known: Sequence[str]) -> None:
        self.kind = kind
        self.known = tuple(known)
        super().__init__(f"unknown preference kind {kind}; known kinds: {', '.join(self.known)}")

    def __str__(self) -> str:
        return str(self.args[0])  # LookupError would quote a KeyError-style repr; the message reads as is
