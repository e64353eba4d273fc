"""the compliance workspace: server-side web sessions, case assignees and comments, each
user's last visit, violations indexed by opening time for the queue and by type and found
territory with their status for the overview's counts, evidence scans with their
near-border flag for the queue's filter, and receipts indexed by time for the reports

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-06 11:00:00

"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

revision: str = '0005'
down_revision: Union[str, Sequence[str], None] = '0004'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

RECEIPTS = sa.text("kind = 'receive'")
HAS_VIOLATION = sa.text('violation_id IS NOT NULL')


def upgrade() -> None:
    op.create_table(
        'web_sessions',
        sa.Column('id_hash', sa.String(length=64), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=True),
        sa.Column('data', sa.JSON(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('last_seen_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'],
                                name=op.f('fk_web_sessions_user_id_users'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id_hash', name=op.f('pk_web_sessions')),
    )
    op.create_index(op.f('ix_web_sessions_user_id'), 'web_sessions', ['user_id'])
    op.create_index(op.f('ix_web_sessions_last_seen_at'), 'web_sessions', ['last_seen_at'])
    op.create_table(
        'violation_comments',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('violation_id', sa.Integer(), nullable=False),
        sa.Column('at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('author', sa.String(length=100), nullable=False),
        sa.Column('body', sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(['violation_id'], ['violations.id'],
                                name=op.f('fk_violation_comments_violation_id_violations'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_violation_comments')),
    )
    op.create_index(op.f('ix_violation_comments_violation_id'), 'violation_comments',
                    ['violation_id'])
    with op.batch_alter_table('violations') as batch:
        batch.add_column(sa.Column('assignee_id', sa.Integer(), nullable=True))
        batch.create_foreign_key(op.f('fk_violations_assignee_id_users'), 'users',
                                 ['assignee_id'], ['id'], ondelete='SET NULL')
        batch.create_index(op.f('ix_violations_assignee_id'), ['assignee_id'])
        batch.create_index('ix_violations_opened_at', ['opened_at', 'id'])
        batch.drop_index('ix_violations_type')
        batch.create_index('ix_violations_type_status', ['type', 'status'])
        batch.drop_index('ix_violations_found_territory')
        batch.create_index('ix_violations_found_territory_status', ['found_territory', 'status'])
    with op.batch_alter_table('users') as batch:
        batch.add_column(sa.Column('last_visit_at', sa.DateTime(timezone=True), nullable=True))
    op.create_index('ix_custody_moves_receipts', 'custody_moves', ['at', 'to_party', 'key'],
                    sqlite_where=RECEIPTS, postgresql_where=RECEIPTS)
    op.drop_index('ix_scans_violation_id', table_name='scans')
    op.create_index('ix_scans_violation_id_near_border', 'scans',
                    ['violation_id', 'near_border'],
                    sqlite_where=HAS_VIOLATION, postgresql_where=HAS_VIOLATION)


def downgrade() -> None:
    op.drop_index('ix_scans_violation_id_near_border', table_name='scans')
    op.create_index('ix_scans_violation_id', 'scans', ['violation_id'],
                    sqlite_where=HAS_VIOLATION, postgresql_where=HAS_VIOLATION)
    op.drop_index('ix_custody_moves_receipts', table_name='custody_moves')
    with op.batch_alter_table('users') as batch:
        batch.drop_column('last_visit_at')
    with op.batch_alter_table('violations') as batch:
        batch.drop_index('ix_violations_found_territory_status')
        batch.create_index('ix_violations_found_territory', ['found_territory'])
        batch.drop_index('ix_violations_type_status')
        batch.create_index('ix_violations_type', ['type'])
        batch.drop_index('ix_violations_opened_at')
        batch.drop_index(op.f('ix_violations_assignee_id'))
        batch.drop_constraint(op.f('fk_violations_assignee_id_users'), type_='foreignkey')
        batch.drop_column('assignee_id')
    op.drop_index(op.f('ix_violation_comments_violation_id'), table_name='violation_comments')
    op.drop_table('violation_comments')
    op.drop_index(op.f('ix_web_sessions_last_seen_at'), table_name='web_sessions')
    op.drop_index(op.f('ix_web_sessions_user_id'), table_name='web_sessions')
    op.drop_table('web_sessions')
