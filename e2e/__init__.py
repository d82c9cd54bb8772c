"""prefkit's end-to-end QA kit: a pytest plugin, page objects and registry-driven flows.

Installed with ``pip install prefkit[e2e]``; the plugin (``e2e.plugin``) is registered through the
``pytest11`` entry point, so its options and fixtures are available in any pytest run.
"""

from __future__ import annotations

__all__: list[str] = []
