"""The BFF's HTTP API under ``/api/v1`` (Litestar controllers, msgspec bodies, RFC 9457 errors)."""

from __future__ import annotations

from .openapi import RegistryAwareJsonPlugin, inject_registry
from .preferences import ConsentController, PreferenceController, ProfileController, SessionController
from .problems import FieldError, Problem, ProblemError, exception_handlers, problem_response
from .system import AdminController, HealthController, RegistryController, gpc_well_known

__all__ = [
    "AdminController",
    "ConsentController",
    "FieldError",
    "HealthController",
    "PreferenceController",
    "Problem",
    "ProblemError",
    "ProfileController",
    "RegistryAwareJsonPlugin",
    "RegistryController",
    "SessionController",
    "exception_handlers",
    "gpc_well_known",
    "inject_registry",
    "problem_response",
]
