"""a violation's evidence is the scans that point to it: drop violation_scans

Every suspicious scan wrote its violation's id on the scan and the same pair again in
violation_scans (two index entries and one statement more per scan). The scans' own
violation_id is now the one record of it, with a partial index (authentic scans write
no entry).

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-28 09:30:00

"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op


revision: str = '0004'
down_revision: Union[str, Sequence[str], None] = '0003'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

HAS_VIOLATION = sa.text('violation_id IS NOT NULL')


def upgrade() -> None:
    # Both were always written together; a pair only in violation_scans still counts.
    op.execute('UPDATE scans SET violation_id = (SELECT min(v.violation_id) FROM '
               'violation_scans v WHERE v.scan_id = scans.id) WHERE violation_id IS NULL '
               'AND id IN (SELECT scan_id FROM violation_scans)')
    op.create_index('ix_scans_violation_id', 'scans', ['violation_id'], unique=False,
                    sqlite_where=HAS_VIOLATION, postgresql_where=HAS_VIOLATION)
    op.drop_table('violation_scans')


def downgrade() -> None:
    op.create_table(
        'violation_scans',
        sa.Column('violation_id', sa.Integer(), nullable=False),
        sa.Column('scan_id', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['scan_id'], ['scans.id'],
                                name=op.f('fk_violation_scans_scan_id_scans'),
                                ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['violation_id'], ['violations.id'],
                                name=op.f('fk_violation_scans_violation_id_violations'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('violation_id', 'scan_id', name=op.f('pk_violation_scans')),
    )
    op.execute('INSERT INTO violation_scans (violation_id, scan_id) SELECT s.violation_id, '
               's.id FROM scans s JOIN violations v ON v.id = s.violation_id')
    op.drop_index('ix_scans_violation_id', table_name='scans')
