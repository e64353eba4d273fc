"""consumer checks and rate limits (owner: public page helper): scans say who scanned
(an inspector or a consumer on the public page of a code) and a consumer's check may have
no position; request counts per client and limit, shared by every server process

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-06 13:00:00

"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

revision: str = '0008'
down_revision: Union[str, Sequence[str], None] = '0007'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

SOURCES = ('inspector', 'consumer')


def upgrade() -> None:
    with op.batch_alter_table('scans') as batch:
        batch.add_column(sa.Column(
            'source', sa.Enum(*SOURCES, name='scan_source', native_enum=False, length=20),
            nullable=False, server_default='inspector'))
        batch.alter_column('latitude', existing_type=sa.Float(), nullable=True)
        batch.alter_column('longitude', existing_type=sa.Float(), nullable=True)
    op.create_table(
        'rate_limit_windows',
        sa.Column('key', sa.String(length=300), nullable=False),
        sa.Column('window_start', sa.DateTime(timezone=True), nullable=False),
        sa.Column('count', sa.Integer(), nullable=False),
        sa.Column('previous', sa.Integer(), nullable=False),
        sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('key', name=op.f('pk_rate_limit_windows')),
    )
    op.create_index(op.f('ix_rate_limit_windows_expires_at'), 'rate_limit_windows',
                    ['expires_at'])


def downgrade() -> None:
    op.drop_index(op.f('ix_rate_limit_windows_expires_at'), table_name='rate_limit_windows')
    op.drop_table('rate_limit_windows')
    # Checks without a position cannot stay in a table whose scans all have one.
    op.execute("DELETE FROM scans WHERE latitude IS NULL OR longitude IS NULL")
    with op.batch_alter_table('scans') as batch:
        batch.alter_column('longitude', existing_type=sa.Float(), nullable=False)
        batch.alter_column('latitude', existing_type=sa.Float(), nullable=False)
        batch.drop_column('source')
