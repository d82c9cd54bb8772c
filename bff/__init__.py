"""prefkit's backend-for-frontend: Litestar app, storage, identity, consent ledger and ReactPy serving."""

from __future__ import annotations

__all__: list[str] = []
