"""Sub-processor change notices to clients (Art. 28(2)) and the activation override

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-25 20:05:58.405934

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('change_notices',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('client_id', sa.Integer(), nullable=False),
    sa.Column('engagement_id', sa.Integer(), nullable=False),
    sa.Column('sub_processor_id', sa.Integer(), nullable=False),
    sa.Column('sent_on', sa.Date(), nullable=True),
    sa.Column('sent_to', sa.String(length=300), nullable=True),
    sa.Column('objection_deadline', sa.Date(), nullable=True),
    sa.Column('objection_received_on', sa.Date(), nullable=True),
    sa.Column('objection_details', sa.Text(), nullable=True),
    sa.Column('outcome', sa.String(length=40), nullable=False),
    sa.Column('outcome_on', sa.Date(), nullable=True),
    sa.Column('notes', sa.Text(), nullable=True),
    sa.Column('uid', sa.String(length=36), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.CheckConstraint('sent_on IS NULL OR objection_deadline IS NULL OR sent_on <= objection_deadline', name=op.f('ck_change_notices_dates_ordered')),
    sa.ForeignKeyConstraint(['client_id'], ['parties.id'], name=op.f('fk_change_notices_client_id_parties')),
    sa.ForeignKeyConstraint(['engagement_id'], ['engagements.id'], name=op.f('fk_change_notices_engagement_id_engagements')),
    sa.ForeignKeyConstraint(['sub_processor_id'], ['parties.id'], name=op.f('fk_change_notices_sub_processor_id_parties')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_change_notices')),
    sa.UniqueConstraint('client_id', 'engagement_id', 'sub_processor_id', name='uq_change_notices_one_per_client'),
    sa.UniqueConstraint('uid', name=op.f('uq_change_notices_uid'))
    )
    with op.batch_alter_table('change_notices', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_change_notices_client_id'), ['client_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_change_notices_engagement_id'), ['engagement_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_change_notices_sub_processor_id'), ['sub_processor_id'], unique=False)

    with op.batch_alter_table('engagements', schema=None) as batch_op:
        batch_op.add_column(sa.Column('activation_override_reason', sa.Text(), nullable=True))



def downgrade():
    with op.batch_alter_table('engagements', schema=None) as batch_op:
        batch_op.drop_column('activation_override_reason')

    with op.batch_alter_table('change_notices', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_change_notices_sub_processor_id'))
        batch_op.drop_index(batch_op.f('ix_change_notices_engagement_id'))
        batch_op.drop_index(batch_op.f('ix_change_notices_client_id'))

    op.drop_table('change_notices')
