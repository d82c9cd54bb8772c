"""Alembic migrations of the BFF database (applied by ``prefkit migrate`` and on ``serve``/``demo`` start)."""
