"""EPCIS named queries and query subscriptions

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-06 19:00:00

"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

revision: str = '0014'
down_revision: Union[str, Sequence[str], None] = '0013'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table(
        'epcis_queries',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('name', sa.String(length=200), nullable=False),
        sa.Column('query', sa.JSON(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('created_by', sa.String(length=100), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_epcis_queries')),
        sa.UniqueConstraint('name', name=op.f('uq_epcis_queries_name')),
    )
    op.create_table(
        'epcis_query_subscriptions',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('subscription_id', sa.String(length=40), nullable=False),
        sa.Column('query_id', sa.Integer(), nullable=False),
        sa.Column('endpoint_id', sa.Integer(), nullable=False),
        sa.Column('stream', sa.Boolean(), nullable=False),
        sa.Column('schedule', sa.JSON(), nullable=True),
        sa.Column('report_if_empty', sa.Boolean(), nullable=False),
        sa.Column('initial_record_time', sa.DateTime(timezone=True), nullable=True),
        sa.Column('min_record_time', sa.DateTime(timezone=True), nullable=False),
        sa.Column('after_event_pk', sa.Integer(), nullable=False),
        sa.Column('next_run_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('created_by', sa.String(length=100), nullable=False),
        sa.Column('creator_role', sa.String(length=20), nullable=False),
        sa.Column('creator_party', sa.String(length=200), nullable=True),
        sa.ForeignKeyConstraint(
            ['query_id'], ['epcis_queries.id'], ondelete='CASCADE',
            name=op.f('fk_epcis_query_subscriptions_query_id_epcis_queries')),
        sa.ForeignKeyConstraint(
            ['endpoint_id'], ['webhook_endpoints.id'], ondelete='CASCADE',
            name=op.f('fk_epcis_query_subscriptions_endpoint_id_webhook_endpoints')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_epcis_query_subscriptions')),
        sa.UniqueConstraint('subscription_id',
                            name=op.f('uq_epcis_query_subscriptions_subscription_id')),
        sa.UniqueConstraint('endpoint_id', name=op.f('uq_epcis_query_subscriptions_endpoint_id')),
    )
    op.create_index(op.f('ix_epcis_query_subscriptions_query_id'),
                    'epcis_query_subscriptions', ['query_id'])
    op.create_index(op.f('ix_epcis_query_subscriptions_next_run_at'),
                    'epcis_query_subscriptions', ['next_run_at'])


def downgrade() -> None:
    op.drop_index(op.f('ix_epcis_query_subscriptions_next_run_at'),
                  table_name='epcis_query_subscriptions')
    op.drop_index(op.f('ix_epcis_query_subscriptions_query_id'),
                  table_name='epcis_query_subscriptions')
    op.drop_table('epcis_query_subscriptions')
    op.drop_table('epcis_queries')
