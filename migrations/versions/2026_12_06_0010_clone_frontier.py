"""what the clone check needs of an item's scans, kept bounded: clone_frontier holds, per
item, the scans that can still decide the travel-speed rule (tracker.services.scans,
"the clone frontier"); filled from the recent scans with a position, all as live rows
(the next scan of each item supersedes those it can be reached from)

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-06 16:30:00

"""
import datetime as dt
import os
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

revision: str = '0010'
down_revision: Union[str, Sequence[str], None] = '0009'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

# tracker.services.scans: MAX_SURFACE_KM and LATE_GRACE, as they stand at this revision.
MAX_SURFACE_KM = 20_037.5
LATE_GRACE = dt.timedelta(hours=1)


def upgrade() -> None:
    op.create_table(
        'clone_frontier',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('key', sa.String(length=500), nullable=False),
        sa.Column('scan_id', sa.Integer(), nullable=False),
        sa.Column('latitude', sa.Double(), nullable=False),
        sa.Column('longitude', sa.Double(), nullable=False),
        sa.Column('scanned_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('superseded_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('clone_speed_kmh', sa.Double(), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_clone_frontier')),
    )
    op.create_index('ix_clone_frontier_key_superseded_at', 'clone_frontier',
                    ['key', 'superseded_at', 'scanned_at'])
    # The speed limit the server runs with (Settings reads the same variable); rows of
    # another limit are only started again, item by item, on their next scan.
    speed = float(os.environ.get('TRACKER_CLONE_SPEED_KMH') or 1000.0)
    scans = sa.table('scans', sa.column('id', sa.Integer()), sa.column('key', sa.String()),
                     sa.column('latitude', sa.Double()), sa.column('longitude', sa.Double()),
                     sa.column('scanned_at', sa.DateTime(timezone=True)))
    bind = op.get_bind()
    latest = bind.execute(sa.select(sa.func.max(scans.c.scanned_at))
                          .where(scans.c.latitude.is_not(None))).scalar()
    if latest is None:
        return
    if isinstance(latest, str):  # SQLite without the column's type: UTC text
        latest = dt.datetime.fromisoformat(latest)
    since = latest - dt.timedelta(hours=MAX_SURFACE_KM / speed) - LATE_GRACE
    frontier = sa.table('clone_frontier', *(sa.column(name) for name in (
        'key', 'scan_id', 'latitude', 'longitude', 'scanned_at', 'clone_speed_kmh')))
    bind.execute(frontier.insert().from_select(
        ['key', 'scan_id', 'latitude', 'longitude', 'scanned_at', 'clone_speed_kmh'],
        sa.select(scans.c.key, scans.c.id, scans.c.latitude, scans.c.longitude,
                  scans.c.scanned_at, sa.literal(speed, sa.Double()))
        .where(scans.c.latitude.is_not(None), scans.c.key.is_not(None),
               scans.c.scanned_at >= since)))


def downgrade() -> None:
    op.drop_index('ix_clone_frontier_key_superseded_at', table_name='clone_frontier')
    op.drop_table('clone_frontier')
