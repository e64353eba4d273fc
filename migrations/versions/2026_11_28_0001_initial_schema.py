"""initial schema

Revision ID: 0001
Revises: 
Create Date: 2026-11-28 02:43:31.954390

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision: str = '0001'
down_revision: Union[str, Sequence[str], None] = None
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema."""

    op.create_table('parties',
    sa.Column('id', sa.String(length=200), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('role', sa.Enum('brand', 'distributor', 'retailer', name='party_role', native_enum=False, length=20), nullable=False),
    sa.Column('tier', sa.Integer(), nullable=False),
    sa.Column('parent_id', sa.String(length=200), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['parent_id'], ['parties.id'], name=op.f('fk_parties_parent_id_parties'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_parties'))
    )
    with op.batch_alter_table('parties', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_parties_parent_id'), ['parent_id'], unique=False)

    op.create_table('products',
    sa.Column('gtin', sa.String(length=14), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('company_prefix_length', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('company_prefix_length BETWEEN 6 AND 12', name=op.f('ck_products_company_prefix_length')),
    sa.PrimaryKeyConstraint('gtin', name=op.f('pk_products'))
    )
    op.create_table('territories',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('parent_id', sa.Integer(), nullable=True),
    sa.Column('geometry_wkb', sa.LargeBinary(), nullable=True),
    sa.Column('min_lon', sa.Double(), nullable=True),
    sa.Column('min_lat', sa.Double(), nullable=True),
    sa.Column('max_lon', sa.Double(), nullable=True),
    sa.Column('max_lat', sa.Double(), nullable=True),
    sa.Column('import_notes', sa.JSON(), nullable=False),
    sa.Column('properties', sa.JSON(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['parent_id'], ['territories.id'], name=op.f('fk_territories_parent_id_territories'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_territories')),
    sa.UniqueConstraint('code', name=op.f('uq_territories_code'))
    )
    with op.batch_alter_table('territories', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_territories_parent_id'), ['parent_id'], unique=False)

    op.create_table('batches',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('gtin', sa.String(length=14), nullable=False),
    sa.Column('territory_id', sa.Integer(), nullable=False),
    sa.Column('quantity', sa.Integer(), nullable=False),
    sa.Column('lot', sa.String(length=20), nullable=True),
    sa.Column('expiry', sa.Date(), nullable=True),
    sa.Column('status', sa.Enum('issued', 'recalled', name='batch_status', native_enum=False, length=20), nullable=False),
    sa.Column('issued_by', sa.String(length=100), nullable=True),
    sa.Column('issued_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('recalled_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('recall_reason', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['gtin'], ['products.gtin'], name=op.f('fk_batches_gtin_products'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['territory_id'], ['territories.id'], name=op.f('fk_batches_territory_id_territories'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_batches'))
    )
    with op.batch_alter_table('batches', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_batches_gtin'), ['gtin'], unique=False)
        batch_op.create_index(batch_op.f('ix_batches_territory_id'), ['territory_id'], unique=False)

    op.create_table('party_territories',
    sa.Column('party_id', sa.String(length=200), nullable=False),
    sa.Column('territory_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['party_id'], ['parties.id'], name=op.f('fk_party_territories_party_id_parties'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['territory_id'], ['territories.id'], name=op.f('fk_party_territories_territory_id_territories'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('party_id', 'territory_id', name=op.f('pk_party_territories'))
    )
    with op.batch_alter_table('party_territories', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_party_territories_territory_id'), ['territory_id'], unique=False)

    op.create_table('users',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('role', sa.Enum('admin', 'compliance', 'inspector', 'distributor', name='user_role', native_enum=False, length=20), nullable=False),
    sa.Column('party_id', sa.String(length=200), nullable=True),
    sa.Column('password_hash', sa.String(length=300), nullable=True),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['party_id'], ['parties.id'], name=op.f('fk_users_party_id_parties'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_users')),
    sa.UniqueConstraint('name', name=op.f('uq_users_name'))
    )
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_users_party_id'), ['party_id'], unique=False)

    op.create_table('api_tokens',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('prefix', sa.String(length=12), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_api_tokens_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_api_tokens')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_api_tokens_token_hash'))
    )
    with op.batch_alter_table('api_tokens', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_api_tokens_user_id'), ['user_id'], unique=False)

    op.create_table('serials',
    sa.Column('serial', sa.String(length=20), nullable=False),
    sa.Column('batch_id', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('serial', name=op.f('pk_serials'))
    )
    with op.batch_alter_table('serials', schema=None) as batch_op:
        batch_op.create_index('ix_serials_batch_id', ['batch_id'], unique=False)




def downgrade() -> None:
    """Downgrade schema."""

    with op.batch_alter_table('serials', schema=None) as batch_op:
        batch_op.drop_index('ix_serials_batch_id')

    op.drop_table('serials')
    with op.batch_alter_table('api_tokens', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_api_tokens_user_id'))

    op.drop_table('api_tokens')
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_users_party_id'))

    op.drop_table('users')
    with op.batch_alter_table('party_territories', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_party_territories_territory_id'))

    op.drop_table('party_territories')
    with op.batch_alter_table('batches', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_batches_territory_id'))
        batch_op.drop_index(batch_op.f('ix_batches_gtin'))

    op.drop_table('batches')
    with op.batch_alter_table('territories', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_territories_parent_id'))

    op.drop_table('territories')
    op.drop_table('products')
    with op.batch_alter_table('parties', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_parties_parent_id'))

    op.drop_table('parties')

