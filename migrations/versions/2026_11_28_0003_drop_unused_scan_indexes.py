"""drop the scan indexes no query uses

Every field scan wrote an entry in each of them; traces look scans up by key, evidence
goes through violation_scans, and nothing filters scans by serial, verdict or violation.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-28 08:00:00

"""
from typing import Sequence, Union

from alembic import op


revision: str = '0003'
down_revision: Union[str, Sequence[str], None] = '0002'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

DROPPED = [('ix_scans_serial', 'serial'), ('ix_scans_verdict', 'verdict'),
           ('ix_scans_violation_id', 'violation_id')]


def upgrade() -> None:
    with op.batch_alter_table('scans', schema=None) as batch_op:
        for name, _column in DROPPED:
            batch_op.drop_index(name)


def downgrade() -> None:
    with op.batch_alter_table('scans', schema=None) as batch_op:
        for name, column in DROPPED:
            batch_op.create_index(name, [column], unique=False)
