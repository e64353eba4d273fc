"""drop the scan and violation indexes no query uses

Every field scan wrote an entry in each scan index, and every suspicious scan in each
violation index. Traces look scans up by key, evidence goes through violation_scans,
violations are found by key and type (the partial unique index) or filtered by status,
type, party and territory; nothing looks either up by serial, verdict or batch.

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

DROPPED = {
    'scans': [('ix_scans_serial', 'serial'), ('ix_scans_verdict', 'verdict'),
              ('ix_scans_violation_id', 'violation_id')],
    'violations': [('ix_violations_serial', 'serial'), ('ix_violations_batch_id', 'batch_id')],
}


def upgrade() -> None:
    for table, indexes in DROPPED.items():
        with op.batch_alter_table(table, schema=None) as batch_op:
            for name, _column in indexes:
                batch_op.drop_index(name)


def downgrade() -> None:
    for table, indexes in DROPPED.items():
        with op.batch_alter_table(table, schema=None) as batch_op:
            for name, column in indexes:
                batch_op.create_index(name, [column], unique=False)
