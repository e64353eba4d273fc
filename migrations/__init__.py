"""Alembic migration scripts (op/sa only, never the ORM models)."""
