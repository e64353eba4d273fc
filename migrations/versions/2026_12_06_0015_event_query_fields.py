"""event_fields: what EPCIS query parameters ask of an event beyond its columns and
identifiers (persistent dispositions, error declarations, quantities, sensor data), read
from the stored events; a transformation's input and output classes get roles of their
own (in_class, out_class) for MATCH_inputEPCClass / MATCH_outputEPCClass; events get
indexes on the columns EQ_disposition, EQ_readPoint and EQ_bizLocation ask about (and
the /dispositions, /readPoints and /bizLocations resources list); released_page_tokens
keeps the digests of the page tokens clients released

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-06 19:10:00

"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

# The reader the repository uses when it stores an event (a pure function of the stored
# document): the same rows whether an event was stored before this revision or after.
from tracker.domain.epcis import query_fields

revision: str = '0015'
down_revision: Union[str, Sequence[str], None] = '0014'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

CHUNK = 2_000


def upgrade() -> None:
    op.create_table(
        'event_fields',
        sa.Column('event_pk', sa.Integer(), nullable=False),
        sa.Column('name', sa.String(length=30), nullable=False),
        sa.Column('value', sa.String(length=500), nullable=False),
        sa.Column('number', sa.Double(), nullable=True),
        sa.Column('moment', sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(['event_pk'], ['events.id'],
                                name=op.f('fk_event_fields_event_pk_events'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('event_pk', 'name', 'value', name=op.f('pk_event_fields')),
    )
    op.create_index('ix_event_fields_name_value', 'event_fields', ['name', 'value'])
    op.create_index('ix_event_fields_name_number', 'event_fields', ['name', 'number'])
    op.create_index('ix_event_fields_name_moment', 'event_fields', ['name', 'moment'])
    for column in ('disposition', 'read_point', 'biz_location'):
        op.create_index(f'ix_events_{column}', 'events', [column])
    op.create_table(
        'released_page_tokens',
        sa.Column('digest', sa.String(length=64), nullable=False),
        sa.Column('released_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('digest', name=op.f('pk_released_page_tokens')),
    )
    bind = op.get_bind()
    events = sa.table('events', sa.column('id', sa.Integer()),
                      sa.column('event_type', sa.String()), sa.column('document', sa.JSON()))
    fields = sa.table('event_fields', *(sa.column(name) for name in (
        'event_pk', 'name', 'value', 'number')),
        sa.column('moment', sa.DateTime(timezone=True)))
    epcs = sa.table('event_epcs', sa.column('event_pk', sa.Integer()),
                    sa.column('key', sa.String()), sa.column('role', sa.String()))
    last = 0
    while True:
        rows = bind.execute(sa.select(events.c.id, events.c.event_type, events.c.document)
                            .where(events.c.id > last).order_by(events.c.id)
                            .limit(CHUNK)).all()
        if not rows:
            break
        last = rows[-1].id
        found = [{"event_pk": row.id, "name": name, "value": value, "number": number,
                  "moment": moment}
                 for row in rows for name, value, number, moment in query_fields(row.document)]
        if found:
            bind.execute(fields.insert(), found)
        _class_roles(bind, epcs, [row for row in rows if row.event_type == 'TransformationEvent'])


def _class_roles(bind: sa.Connection, epcs: sa.TableClause, rows: list[sa.Row]) -> None:
    """A transformation's classes were all role 'quantity'; those of its input and output
    lists become 'in_class' and 'out_class' (its quantityList, if any, stays)."""
    from tracker.domain.codes import epc_key

    for row in rows:
        document = row.document or {}
        for source, role in (('inputQuantityList', 'in_class'),
                             ('outputQuantityList', 'out_class')):
            keys = {epc_key(q['epcClass']) for q in document.get(source) or ()
                    if isinstance(q, dict) and isinstance(q.get('epcClass'), str)}
            for key in keys:
                bind.execute(epcs.insert().values(event_pk=row.id, key=key, role=role))
        kept = {epc_key(q['epcClass']) for q in document.get('quantityList') or ()
                if isinstance(q, dict) and isinstance(q.get('epcClass'), str)}
        bind.execute(epcs.delete().where(epcs.c.event_pk == row.id, epcs.c.role == 'quantity',
                                         epcs.c.key.not_in(kept)))


def downgrade() -> None:
    bind = op.get_bind()
    epcs = sa.table('event_epcs', sa.column('event_pk', sa.Integer()),
                    sa.column('key', sa.String()), sa.column('role', sa.String()))
    moved = bind.execute(sa.select(epcs.c.event_pk, epcs.c.key)
                         .where(epcs.c.role.in_(('in_class', 'out_class')))).all()
    bind.execute(epcs.delete().where(epcs.c.role.in_(('in_class', 'out_class'))))
    for event_pk, key in dict.fromkeys(moved):
        if bind.execute(sa.select(epcs.c.key).where(
                epcs.c.event_pk == event_pk, epcs.c.key == key,
                epcs.c.role == 'quantity')).first() is None:
            bind.execute(epcs.insert().values(event_pk=event_pk, key=key, role='quantity'))
    op.drop_table('released_page_tokens')
    for column in ('disposition', 'read_point', 'biz_location'):
        op.drop_index(f'ix_events_{column}', table_name='events')
    op.drop_index('ix_event_fields_name_moment', table_name='event_fields')
    op.drop_index('ix_event_fields_name_number', table_name='event_fields')
    op.drop_index('ix_event_fields_name_value', table_name='event_fields')
    op.drop_table('event_fields')
