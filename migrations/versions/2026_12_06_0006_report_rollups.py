"""the scorecard's receipts counted as they are recorded: items each party received per
UTC day, and the repeat receipts that turn those counts into distinct items; violations
indexed by responsible party with their opening time and status (replacing the index on
the party alone), so the scorecard's counts read the index only; and by opening time
with the type, so the violations over time read the index only, and by type and
opening time with where found and the serial, so the flows read the index only; each violation's
expected territories a row each (kept by triggers), for the queue's region filter and
the flows

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-06 13:00:00

"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

revision: str = '0006'
down_revision: Union[str, Sequence[str], None] = '0005'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

# The receipts of items (not of cases and pallets) already recorded, as the reports
# count them from now on (tracker.services.custody.count_receipts keeps them up to date).
ITEM_RECEIPTS = "kind = 'receive' AND key LIKE '01/%/21/%'"


# Each violation's expected territories as rows, kept by the database on every insert and
# on a change of the list, whichever code stores the violation.
SQLITE_TRIGGERS = [
    """CREATE TRIGGER violation_territories_on_insert AFTER INSERT ON violations
    BEGIN
        INSERT OR IGNORE INTO violation_territories (territory, violation_id)
        SELECT value, NEW.id FROM json_each(NEW.expected_territories)
        WHERE value IS NOT NULL;
    END""",
    """CREATE TRIGGER violation_territories_on_update
    AFTER UPDATE OF expected_territories ON violations
    BEGIN
        DELETE FROM violation_territories WHERE violation_id = OLD.id;
        INSERT OR IGNORE INTO violation_territories (territory, violation_id)
        SELECT value, NEW.id FROM json_each(NEW.expected_territories)
        WHERE value IS NOT NULL;
    END""",
]
POSTGRESQL_TRIGGERS = [
    """CREATE FUNCTION violation_territories_kept() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF TG_OP = 'UPDATE' THEN
            DELETE FROM violation_territories WHERE violation_id = OLD.id;
        END IF;
        INSERT INTO violation_territories (territory, violation_id)
        SELECT DISTINCT value, NEW.id
        FROM json_array_elements_text(NEW.expected_territories) AS value
        WHERE value IS NOT NULL
        ON CONFLICT DO NOTHING;
        RETURN NULL;
    END $$""",
    """CREATE TRIGGER violation_territories_on_insert AFTER INSERT ON violations
    FOR EACH ROW EXECUTE FUNCTION violation_territories_kept()""",
    """CREATE TRIGGER violation_territories_on_update
    AFTER UPDATE OF expected_territories ON violations
    FOR EACH ROW EXECUTE FUNCTION violation_territories_kept()""",
]


def upgrade() -> None:
    postgresql = op.get_bind().dialect.name == 'postgresql'
    op.create_table(
        'violation_territories',
        sa.Column('territory', sa.String(length=64), nullable=False),
        sa.Column('violation_id', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['violation_id'], ['violations.id'],
                                name=op.f('fk_violation_territories_violation_id_violations'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('territory', 'violation_id',
                                name=op.f('pk_violation_territories')),
    )
    op.create_index('ix_violation_territories_violation_id', 'violation_territories',
                    ['violation_id', 'territory'])
    for statement in POSTGRESQL_TRIGGERS if postgresql else SQLITE_TRIGGERS:
        op.execute(statement)
    elements = ("json_array_elements_text(expected_territories) AS e(value)" if postgresql
                else "json_each(expected_territories) AS e")
    op.execute(f"""
        INSERT INTO violation_territories (territory, violation_id)
        SELECT DISTINCT e.value, violations.id FROM violations, {elements}
        WHERE e.value IS NOT NULL""")
    op.create_table(
        'receipt_days',
        sa.Column('party_id', sa.String(length=200), nullable=False),
        sa.Column('day', sa.Date(), nullable=False),
        sa.Column('receipts', sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint('party_id', 'day', name=op.f('pk_receipt_days')),
    )
    op.create_table(
        'repeat_receipts',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('party_id', sa.String(length=200), nullable=False),
        sa.Column('key', sa.String(length=500), nullable=False),
        sa.Column('at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('previous_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_repeat_receipts')),
    )
    op.create_index('ix_repeat_receipts_at', 'repeat_receipts',
                    ['at', 'party_id', 'previous_at'])
    op.create_index('ix_repeat_receipts_party_key', 'repeat_receipts',
                    ['party_id', 'key', 'at'])
    day = "date(timezone('UTC', at))" if postgresql else 'date(at)'
    op.execute(f"""
        INSERT INTO receipt_days (party_id, day, receipts)
        SELECT to_party, {day}, count(*) FROM custody_moves
        WHERE {ITEM_RECEIPTS} AND to_party IS NOT NULL
        GROUP BY to_party, {day}""")
    op.execute(f"""
        INSERT INTO repeat_receipts (party_id, key, at, previous_at)
        SELECT to_party, key, at, previous_at FROM (
            SELECT to_party, key, at,
                   lag(at) OVER (PARTITION BY to_party, key ORDER BY at, id) AS previous_at
            FROM custody_moves WHERE {ITEM_RECEIPTS} AND to_party IS NOT NULL) AS r
        WHERE previous_at IS NOT NULL""")
    op.drop_index('ix_violations_responsible_party', table_name='violations')
    op.create_index('ix_violations_party_opened', 'violations',
                    ['responsible_party', 'opened_at', 'status'])
    op.drop_index('ix_violations_opened_at', table_name='violations')
    op.create_index('ix_violations_opened_at', 'violations', ['opened_at', 'id', 'type'])
    op.create_index('ix_violations_type_opened', 'violations',
                    ['type', 'opened_at', 'found_territory', 'key'])


def downgrade() -> None:
    op.drop_index('ix_violations_type_opened', table_name='violations')
    op.execute('DROP TRIGGER violation_territories_on_update'
               + (' ON violations' if op.get_bind().dialect.name == 'postgresql' else ''))
    op.execute('DROP TRIGGER violation_territories_on_insert'
               + (' ON violations' if op.get_bind().dialect.name == 'postgresql' else ''))
    if op.get_bind().dialect.name == 'postgresql':
        op.execute('DROP FUNCTION violation_territories_kept()')
    op.drop_index('ix_violation_territories_violation_id', table_name='violation_territories')
    op.drop_table('violation_territories')
    op.drop_index('ix_violations_opened_at', table_name='violations')
    op.create_index('ix_violations_opened_at', 'violations', ['opened_at', 'id'])
    op.drop_index('ix_violations_party_opened', table_name='violations')
    op.create_index('ix_violations_responsible_party', 'violations', ['responsible_party'])
    op.drop_index('ix_repeat_receipts_party_key', table_name='repeat_receipts')
    op.drop_index('ix_repeat_receipts_at', table_name='repeat_receipts')
    op.drop_table('repeat_receipts')
    op.drop_table('receipt_days')
