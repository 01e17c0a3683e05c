"""stored route verdicts

Today's assessment of each route, derived from the register and data/countries.yaml.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25 17:43:04.837533

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('assessment_runs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('assessed_on', sa.Date(), nullable=False),
    sa.Column('law_digest', sa.String(length=64), nullable=False),
    sa.Column('finished_at', sa.DateTime(), nullable=False),
    sa.Column('route_count', sa.Integer(), nullable=False),
    sa.Column('seconds', sa.Float(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_assessment_runs'))
    )
    op.create_table('route_verdicts',
    sa.Column('route_id', sa.Integer(), nullable=False),
    sa.Column('assessed_on', sa.Date(), nullable=False),
    sa.Column('live', sa.Boolean(), nullable=False),
    sa.Column('destination', sa.String(length=32), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('mechanisms', sa.String(length=200), nullable=False),
    sa.Column('breaks_notice_promise', sa.Boolean(), nullable=False),
    sa.Column('importer_vetting', sa.String(length=30), nullable=True),
    sa.ForeignKeyConstraint(['route_id'], ['transfer_routes.id'], name=op.f('fk_route_verdicts_route_id_transfer_routes'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('route_id', name=op.f('pk_route_verdicts'))
    )
    with op.batch_alter_table('route_verdicts', schema=None) as batch_op:
        batch_op.create_index('ix_route_verdicts_counts', ['live', 'status', 'breaks_notice_promise'], unique=False)
        batch_op.create_index('ix_route_verdicts_destinations', ['live', 'destination'], unique=False)
        batch_op.create_index(batch_op.f('ix_route_verdicts_importer_vetting'), ['importer_vetting'], unique=False)
        batch_op.create_index(batch_op.f('ix_route_verdicts_status'), ['status'], unique=False)

    op.create_table('route_regime_verdicts',
    sa.Column('route_id', sa.Integer(), nullable=False),
    sa.Column('regime', sa.String(length=2), nullable=False),
    sa.Column('live', sa.Boolean(), nullable=False),
    sa.Column('mechanism', sa.String(length=30), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('adequacy_id', sa.String(length=60), nullable=True),
    sa.ForeignKeyConstraint(['route_id'], ['route_verdicts.route_id'], name=op.f('fk_route_regime_verdicts_route_id_route_verdicts'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('route_id', 'regime', name=op.f('pk_route_regime_verdicts'))
    )
    with op.batch_alter_table('route_regime_verdicts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_route_regime_verdicts_adequacy_id'), ['adequacy_id'], unique=False)
        batch_op.create_index('ix_route_regime_verdicts_counts', ['live', 'regime', 'mechanism', 'status', 'adequacy_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_route_regime_verdicts_mechanism'), ['mechanism'], unique=False)
        batch_op.create_index(batch_op.f('ix_route_regime_verdicts_status'), ['status'], unique=False)



def downgrade():
    with op.batch_alter_table('route_regime_verdicts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_route_regime_verdicts_status'))
        batch_op.drop_index(batch_op.f('ix_route_regime_verdicts_mechanism'))
        batch_op.drop_index('ix_route_regime_verdicts_counts')
        batch_op.drop_index(batch_op.f('ix_route_regime_verdicts_adequacy_id'))

    op.drop_table('route_regime_verdicts')
    with op.batch_alter_table('route_verdicts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_route_verdicts_status'))
        batch_op.drop_index(batch_op.f('ix_route_verdicts_importer_vetting'))
        batch_op.drop_index('ix_route_verdicts_destinations')
        batch_op.drop_index('ix_route_verdicts_counts')

    op.drop_table('route_verdicts')
    op.drop_table('assessment_runs')
