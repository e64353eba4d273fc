"""custody scans violations

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-28 03:06:25.417221

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision: str = '0002'
down_revision: Union[str, Sequence[str], None] = '0001'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema."""

    op.create_table('capture_jobs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('status', sa.Enum('running', 'success', 'failed', name='capture_status', native_enum=False, length=20), nullable=False),
    sa.Column('error_behaviour', sa.String(length=20), nullable=False),
    sa.Column('event_count', sa.Integer(), nullable=False),
    sa.Column('captured_count', sa.Integer(), nullable=False),
    sa.Column('errors', sa.JSON(), nullable=False),
    sa.Column('created_by', sa.String(length=100), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_capture_jobs'))
    )
    op.create_table('containers',
    sa.Column('sscc', sa.String(length=18), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('party_id', sa.String(length=200), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('sscc', name=op.f('pk_containers'))
    )
    with op.batch_alter_table('containers', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_containers_party_id'), ['party_id'], unique=False)

    op.create_table('custody_moves',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=500), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('from_party', sa.String(length=200), nullable=True),
    sa.Column('to_party', sa.String(length=200), nullable=True),
    sa.Column('shipment_id', sa.Integer(), nullable=True),
    sa.Column('event_pk', sa.Integer(), nullable=True),
    sa.Column('detail', sa.String(length=500), nullable=True),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_custody_moves'))
    )
    with op.batch_alter_table('custody_moves', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_custody_moves_event_pk'), ['event_pk'], unique=False)
        batch_op.create_index('ix_custody_moves_key_at', ['key', 'at'], unique=False)

    op.create_table('custody_states',
    sa.Column('key', sa.String(length=500), nullable=False),
    sa.Column('serial', sa.String(length=20), nullable=True),
    sa.Column('custodian', sa.String(length=200), nullable=True),
    sa.Column('owner', sa.String(length=200), nullable=True),
    sa.Column('disposition', sa.String(length=100), nullable=False),
    sa.Column('shipment_id', sa.Integer(), nullable=True),
    sa.Column('container', sa.String(length=500), nullable=True),
    sa.Column('biz_location', sa.String(length=500), nullable=True),
    sa.Column('last_event_pk', sa.Integer(), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('key', name=op.f('pk_custody_states'))
    )
    with op.batch_alter_table('custody_states', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_custody_states_container'), ['container'], unique=False)
        batch_op.create_index(batch_op.f('ix_custody_states_custodian'), ['custodian'], unique=False)
        batch_op.create_index(batch_op.f('ix_custody_states_serial'), ['serial'], unique=False)
        batch_op.create_index(batch_op.f('ix_custody_states_shipment_id'), ['shipment_id'], unique=False)

    op.create_table('shipments',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('from_party', sa.String(length=200), nullable=False),
    sa.Column('to_party', sa.String(length=200), nullable=False),
    sa.Column('status', sa.Enum('in_transit', 'received', 'partially_received', 'cancelled', name='shipment_status', native_enum=False, length=30), nullable=False),
    sa.Column('origin', sa.String(length=20), nullable=False),
    sa.Column('item_count', sa.Integer(), nullable=False),
    sa.Column('created_by', sa.String(length=100), nullable=True),
    sa.Column('shipped_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('ship_event_pk', sa.Integer(), nullable=True),
    sa.Column('receive_event_pk', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_shipments'))
    )
    with op.batch_alter_table('shipments', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_shipments_from_party'), ['from_party'], unique=False)
        batch_op.create_index(batch_op.f('ix_shipments_status'), ['status'], unique=False)
        batch_op.create_index(batch_op.f('ix_shipments_to_party'), ['to_party'], unique=False)

    op.create_table('violations',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=500), nullable=False),
    sa.Column('serial', sa.String(length=100), nullable=True),
    sa.Column('gtin', sa.String(length=14), nullable=True),
    sa.Column('type', sa.Enum('diverted', 'unknown_code', 'suspected_clone', 'recalled', name='violation_type', native_enum=False, length=30), nullable=False),
    sa.Column('status', sa.Enum('open', 'investigating', 'confirmed', 'dismissed', 'resolved', name='violation_status', native_enum=False, length=30), nullable=False),
    sa.Column('batch_id', sa.Integer(), nullable=True),
    sa.Column('responsible_party', sa.String(length=200), nullable=True),
    sa.Column('expected_territories', sa.JSON(), nullable=False),
    sa.Column('found_territory', sa.String(length=64), nullable=True),
    sa.Column('scan_count', sa.Integer(), nullable=False),
    sa.Column('opened_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('last_scan_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_violations'))
    )
    with op.batch_alter_table('violations', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_violations_batch_id'), ['batch_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_violations_found_territory'), ['found_territory'], unique=False)
        batch_op.create_index(batch_op.f('ix_violations_key'), ['key'], unique=False)
        batch_op.create_index(batch_op.f('ix_violations_responsible_party'), ['responsible_party'], unique=False)
        batch_op.create_index(batch_op.f('ix_violations_serial'), ['serial'], unique=False)
        batch_op.create_index(batch_op.f('ix_violations_status'), ['status'], unique=False)
        batch_op.create_index(batch_op.f('ix_violations_type'), ['type'], unique=False)
        batch_op.create_index('uq_violations_open_key_type', ['key', 'type'], unique=True, sqlite_where=sa.text("status NOT IN ('dismissed', 'resolved')"), postgresql_where=sa.text("status NOT IN ('dismissed', 'resolved')"))

    op.create_table('events',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('event_hash', sa.String(length=120), nullable=False),
    sa.Column('event_id', sa.String(length=500), nullable=False),
    sa.Column('event_type', sa.String(length=40), nullable=False),
    sa.Column('action', sa.String(length=10), nullable=True),
    sa.Column('biz_step', sa.String(length=200), nullable=True),
    sa.Column('disposition', sa.String(length=200), nullable=True),
    sa.Column('event_time', sa.DateTime(timezone=True), nullable=False),
    sa.Column('event_timezone_offset', sa.String(length=6), nullable=False),
    sa.Column('record_time', sa.DateTime(timezone=True), nullable=False),
    sa.Column('read_point', sa.String(length=500), nullable=True),
    sa.Column('biz_location', sa.String(length=500), nullable=True),
    sa.Column('origin', sa.String(length=20), nullable=False),
    sa.Column('capture_job_id', sa.Integer(), nullable=True),
    sa.Column('batch_id', sa.Integer(), nullable=True),
    sa.Column('document', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['capture_job_id'], ['capture_jobs.id'], name=op.f('fk_events_capture_job_id_capture_jobs'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_events')),
    sa.UniqueConstraint('event_hash', name=op.f('uq_events_event_hash'))
    )
    with op.batch_alter_table('events', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_events_batch_id'), ['batch_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_events_biz_step'), ['biz_step'], unique=False)
        batch_op.create_index(batch_op.f('ix_events_capture_job_id'), ['capture_job_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_events_event_id'), ['event_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_events_event_time'), ['event_time'], unique=False)
        batch_op.create_index(batch_op.f('ix_events_record_time'), ['record_time'], unique=False)
        batch_op.create_index('ix_events_type_time', ['event_type', 'event_time'], unique=False)

    op.create_table('shipment_lines',
    sa.Column('shipment_id', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=500), nullable=False),
    sa.Column('code', sa.String(length=500), nullable=False),
    sa.Column('status', sa.Enum('in_transit', 'received', 'missing', name='line_status', native_enum=False, length=30), nullable=False),
    sa.ForeignKeyConstraint(['shipment_id'], ['shipments.id'], name=op.f('fk_shipment_lines_shipment_id_shipments'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('shipment_id', 'key', name=op.f('pk_shipment_lines'))
    )
    op.create_table('violation_audit',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('violation_id', sa.Integer(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('actor', sa.String(length=100), nullable=False),
    sa.Column('action', sa.String(length=20), nullable=False),
    sa.Column('from_status', sa.String(length=30), nullable=True),
    sa.Column('to_status', sa.String(length=30), nullable=True),
    sa.Column('note', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['violation_id'], ['violations.id'], name=op.f('fk_violation_audit_violation_id_violations'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_violation_audit'))
    )
    with op.batch_alter_table('violation_audit', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_violation_audit_violation_id'), ['violation_id'], unique=False)

    op.create_table('custody_exceptions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('event_pk', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=500), nullable=True),
    sa.Column('kind', sa.String(length=40), nullable=False),
    sa.Column('message', sa.Text(), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['event_pk'], ['events.id'], name=op.f('fk_custody_exceptions_event_pk_events'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_custody_exceptions'))
    )
    with op.batch_alter_table('custody_exceptions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_custody_exceptions_event_pk'), ['event_pk'], unique=False)
        batch_op.create_index(batch_op.f('ix_custody_exceptions_key'), ['key'], unique=False)

    op.create_table('event_epcs',
    sa.Column('event_pk', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=500), nullable=False),
    sa.Column('role', sa.String(length=10), nullable=False),
    sa.ForeignKeyConstraint(['event_pk'], ['events.id'], name=op.f('fk_event_epcs_event_pk_events'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('event_pk', 'key', 'role', name=op.f('pk_event_epcs'))
    )
    with op.batch_alter_table('event_epcs', schema=None) as batch_op:
        batch_op.create_index('ix_event_epcs_key_event', ['key', 'event_pk'], unique=False)

    op.create_table('scans',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('client_scan_id', sa.String(length=200), nullable=True),
    sa.Column('inspector_id', sa.Integer(), nullable=True),
    sa.Column('code', sa.Text(), nullable=False),
    sa.Column('form', sa.String(length=20), nullable=False),
    sa.Column('gtin', sa.String(length=14), nullable=True),
    sa.Column('serial', sa.String(length=100), nullable=True),
    sa.Column('key', sa.String(length=500), nullable=True),
    sa.Column('latitude', sa.Double(), nullable=False),
    sa.Column('longitude', sa.Double(), nullable=False),
    sa.Column('accuracy_m', sa.Double(), nullable=True),
    sa.Column('device_id', sa.String(length=200), nullable=True),
    sa.Column('scanned_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('verdict', sa.Enum('unknown_code', 'recalled', 'suspected_clone', 'diverted', 'authentic', name='verdict', native_enum=False, length=30), nullable=False),
    sa.Column('near_border', sa.Boolean(), nullable=False),
    sa.Column('expected_territories', sa.JSON(), nullable=False),
    sa.Column('found_territory', sa.String(length=64), nullable=True),
    sa.Column('responsible_party', sa.String(length=200), nullable=True),
    sa.Column('violation_id', sa.Integer(), nullable=True),
    sa.Column('flags', sa.JSON(), nullable=False),
    sa.Column('response', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['inspector_id'], ['users.id'], name=op.f('fk_scans_inspector_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_scans')),
    sa.UniqueConstraint('inspector_id', 'client_scan_id', name=op.f('uq_scans_inspector_id'))
    )
    with op.batch_alter_table('scans', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_scans_inspector_id'), ['inspector_id'], unique=False)
        batch_op.create_index('ix_scans_key_scanned_at', ['key', 'scanned_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_scans_serial'), ['serial'], unique=False)
        batch_op.create_index(batch_op.f('ix_scans_verdict'), ['verdict'], unique=False)
        batch_op.create_index(batch_op.f('ix_scans_violation_id'), ['violation_id'], unique=False)

    op.create_table('violation_scans',
    sa.Column('violation_id', sa.Integer(), nullable=False),
    sa.Column('scan_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['scan_id'], ['scans.id'], name=op.f('fk_violation_scans_scan_id_scans'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['violation_id'], ['violations.id'], name=op.f('fk_violation_scans_violation_id_violations'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('violation_id', 'scan_id', name=op.f('pk_violation_scans'))
    )
    with op.batch_alter_table('batches', schema=None) as batch_op:
        batch_op.add_column(sa.Column('owner_party_id', sa.String(length=200), nullable=True))
        batch_op.create_index(batch_op.f('ix_batches_owner_party_id'), ['owner_party_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_batches_owner_party_id_parties'), 'parties', ['owner_party_id'], ['id'], ondelete='RESTRICT')




def downgrade() -> None:
    """Downgrade schema."""

    with op.batch_alter_table('batches', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_batches_owner_party_id_parties'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_batches_owner_party_id'))
        batch_op.drop_column('owner_party_id')

    op.drop_table('violation_scans')
    with op.batch_alter_table('scans', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_scans_violation_id'))
        batch_op.drop_index(batch_op.f('ix_scans_verdict'))
        batch_op.drop_index(batch_op.f('ix_scans_serial'))
        batch_op.drop_index('ix_scans_key_scanned_at')
        batch_op.drop_index(batch_op.f('ix_scans_inspector_id'))

    op.drop_table('scans')
    with op.batch_alter_table('event_epcs', schema=None) as batch_op:
        batch_op.drop_index('ix_event_epcs_key_event')

    op.drop_table('event_epcs')
    with op.batch_alter_table('custody_exceptions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_custody_exceptions_key'))
        batch_op.drop_index(batch_op.f('ix_custody_exceptions_event_pk'))

    op.drop_table('custody_exceptions')
    with op.batch_alter_table('violation_audit', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_violation_audit_violation_id'))

    op.drop_table('violation_audit')
    op.drop_table('shipment_lines')
    with op.batch_alter_table('events', schema=None) as batch_op:
        batch_op.drop_index('ix_events_type_time')
        batch_op.drop_index(batch_op.f('ix_events_record_time'))
        batch_op.drop_index(batch_op.f('ix_events_event_time'))
        batch_op.drop_index(batch_op.f('ix_events_event_id'))
        batch_op.drop_index(batch_op.f('ix_events_capture_job_id'))
        batch_op.drop_index(batch_op.f('ix_events_biz_step'))
        batch_op.drop_index(batch_op.f('ix_events_batch_id'))

    op.drop_table('events')
    with op.batch_alter_table('violations', schema=None) as batch_op:
        batch_op.drop_index('uq_violations_open_key_type', sqlite_where=sa.text("status NOT IN ('dismissed', 'resolved')"), postgresql_where=sa.text("status NOT IN ('dismissed', 'resolved')"))
        batch_op.drop_index(batch_op.f('ix_violations_type'))
        batch_op.drop_index(batch_op.f('ix_violations_status'))
        batch_op.drop_index(batch_op.f('ix_violations_serial'))
        batch_op.drop_index(batch_op.f('ix_violations_responsible_party'))
        batch_op.drop_index(batch_op.f('ix_violations_key'))
        batch_op.drop_index(batch_op.f('ix_violations_found_territory'))
        batch_op.drop_index(batch_op.f('ix_violations_batch_id'))

    op.drop_table('violations')
    with op.batch_alter_table('shipments', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_shipments_to_party'))
        batch_op.drop_index(batch_op.f('ix_shipments_status'))
        batch_op.drop_index(batch_op.f('ix_shipments_from_party'))

    op.drop_table('shipments')
    with op.batch_alter_table('custody_states', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_custody_states_shipment_id'))
        batch_op.drop_index(batch_op.f('ix_custody_states_serial'))
        batch_op.drop_index(batch_op.f('ix_custody_states_custodian'))
        batch_op.drop_index(batch_op.f('ix_custody_states_container'))

    op.drop_table('custody_states')
    with op.batch_alter_table('custody_moves', schema=None) as batch_op:
        batch_op.drop_index('ix_custody_moves_key_at')
        batch_op.drop_index(batch_op.f('ix_custody_moves_event_pk'))

    op.drop_table('custody_moves')
    with op.batch_alter_table('containers', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_containers_party_id'))

    op.drop_table('containers')
    op.drop_table('capture_jobs')

