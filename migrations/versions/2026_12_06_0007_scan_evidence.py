"""scan evidence - an inspector's note and JPEG photo on a scan, kept in the database

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-06 13:00:00

"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

revision: str = '0007'
down_revision: Union[str, Sequence[str], None] = '0006'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table(
        'scan_evidence',
        sa.Column('scan_id', sa.Integer(), nullable=False),
        sa.Column('note', sa.Text(), nullable=True),
        sa.Column('photo', sa.LargeBinary(), nullable=True),
        sa.Column('thumbnail', sa.LargeBinary(), nullable=True),
        sa.Column('photo_bytes', sa.Integer(), nullable=True),
        sa.Column('photo_width', sa.Integer(), nullable=True),
        sa.Column('photo_height', sa.Integer(), nullable=True),
        sa.Column('added_by', sa.String(length=100), nullable=False),
        sa.Column('added_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['scan_id'], ['scans.id'],
                                name=op.f('fk_scan_evidence_scan_id_scans'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('scan_id', name=op.f('pk_scan_evidence')),
    )


def downgrade() -> None:
    op.drop_table('scan_evidence')
