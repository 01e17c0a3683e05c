"""data subjects' requests: the log, the purgeable personal data, the answers sent

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-25 20:08:27.701251

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('subject_requests',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('request_type', sa.String(length=40), nullable=False),
    sa.Column('channel', sa.String(length=40), nullable=False),
    sa.Column('received_on', sa.Date(), nullable=False),
    sa.Column('status', sa.String(length=40), nullable=False),
    sa.Column('acknowledged_on', sa.Date(), nullable=True),
    sa.Column('identity_verified_on', sa.Date(), nullable=True),
    sa.Column('scope_entity_ids', sa.String(length=400), nullable=True),
    sa.Column('scope_purposes', sa.String(length=300), nullable=True),
    sa.Column('is_for_controller', sa.Boolean(), nullable=False),
    sa.Column('controller_id', sa.Integer(), nullable=True),
    sa.Column('controller_asked_on', sa.Date(), nullable=True),
    sa.Column('controller_answered_on', sa.Date(), nullable=True),
    sa.Column('controller_instructions', sa.Text(), nullable=True),
    sa.Column('extension_told_on', sa.Date(), nullable=True),
    sa.Column('extension_reason', sa.Text(), nullable=True),
    sa.Column('answered_on', sa.Date(), nullable=True),
    sa.Column('refused_on', sa.Date(), nullable=True),
    sa.Column('refusal_reason', sa.Text(), nullable=True),
    sa.Column('personal_data_purged_at', sa.DateTime(), nullable=True),
    sa.Column('uid', sa.String(length=36), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['controller_id'], ['parties.id'], name=op.f('fk_subject_requests_controller_id_parties')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_subject_requests')),
    sa.UniqueConstraint('uid', name=op.f('uq_subject_requests_uid'))
    )
    with op.batch_alter_table('subject_requests', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_subject_requests_controller_id'), ['controller_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_subject_requests_status'), ['status'], unique=False)

    op.create_table('request_answers',
    sa.Column('request_id', sa.Integer(), nullable=False),
    sa.Column('media_type', sa.String(length=100), nullable=False),
    sa.Column('content', sa.Text(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('sent_on', sa.Date(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['request_id'], ['subject_requests.id'], name=op.f('fk_request_answers_request_id_subject_requests'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('request_id', name=op.f('pk_request_answers'))
    )
    op.create_table('request_personal_data',
    sa.Column('request_id', sa.Integer(), nullable=False),
    sa.Column('requester_name', sa.String(length=200), nullable=False),
    sa.Column('requester_contact', sa.String(length=300), nullable=False),
    sa.Column('notes', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['request_id'], ['subject_requests.id'], name=op.f('fk_request_personal_data_request_id_subject_requests'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('request_id', name=op.f('pk_request_personal_data'))
    )


def downgrade():
    op.drop_table('request_personal_data')
    op.drop_table('request_answers')
    with op.batch_alter_table('subject_requests', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_subject_requests_status'))
        batch_op.drop_index(batch_op.f('ix_subject_requests_controller_id'))

    op.drop_table('subject_requests')
