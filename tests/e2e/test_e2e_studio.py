"""The e2e.flows.test_studio flow, run in prefkit's own suite (the plugin's self-started server)."""

from __future__ import annotations

from e2e.flows.test_studio import *  # noqa: F403
