"""initial register schema

Enumerations are plain strings validated by the application, so a new value needs no migration.

Revision ID: 0001
Revises: 
Create Date: 2026-11-25 17:05:01.176501

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('bcr_approvals',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=300), nullable=False),
    sa.Column('regime', sa.String(length=40), nullable=False),
    sa.Column('bcr_type', sa.String(length=40), nullable=False),
    sa.Column('authority', sa.String(length=300), nullable=False),
    sa.Column('reference', sa.String(length=200), nullable=True),
    sa.Column('approved_on', sa.Date(), nullable=False),
    sa.Column('withdrawn_on', sa.Date(), nullable=True),
    sa.Column('status', sa.String(length=40), nullable=False),
    sa.Column('notes', sa.Text(), nullable=True),
    sa.Column('uid', sa.String(length=36), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.CheckConstraint('withdrawn_on IS NULL OR approved_on <= withdrawn_on', name=op.f('ck_bcr_approvals_dates_ordered')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_bcr_approvals')),
    sa.UniqueConstraint('regime', 'bcr_type', 'name', name='uq_bcr_approvals_one_per_regime'),
    sa.UniqueConstraint('uid', name=op.f('uq_bcr_approvals_uid'))
    )
    op.create_table('login_throttles',
    sa.Column('key', sa.String(length=80), nullable=False),
    sa.Column('failures', sa.Integer(), nullable=False),
    sa.Column('window_started_at', sa.DateTime(), nullable=False),
    sa.Column('locked_until', sa.DateTime(), nullable=True),
    sa.PrimaryKeyConstraint('key', name=op.f('pk_login_throttles'))
    )
    op.create_table('parties',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=40), nullable=False),
    sa.Column('legal_name', sa.String(length=300), nullable=False),
    sa.Column('name_key', sa.String(length=300), nullable=False),
    sa.Column('trading_name', sa.String(length=300), nullable=True),
    sa.Column('country_code', sa.String(length=2), nullable=True),
    sa.Column('organisation_code', sa.String(length=32), nullable=True),
    sa.Column('registration_number', sa.String(length=100), nullable=True),
    sa.Column('address', sa.Text(), nullable=True),
    sa.Column('website', sa.String(length=300), nullable=True),
    sa.Column('contact_name', sa.String(length=200), nullable=True),
    sa.Column('contact_email', sa.String(length=254), nullable=True),
    sa.Column('dpo_name', sa.String(length=200), nullable=True),
    sa.Column('dpo_email', sa.String(length=254), nullable=True),
    sa.Column('is_controller', sa.Boolean(), nullable=False),
    sa.Column('is_processor', sa.Boolean(), nullable=False),
    sa.Column('status', sa.String(length=40), nullable=False),
    sa.Column('starts_on', sa.Date(), nullable=True),
    sa.Column('ends_on', sa.Date(), nullable=True),
    sa.Column('vetting_status', sa.String(length=40), nullable=True),
    sa.Column('vetting_last_review_on', sa.Date(), nullable=True),
    sa.Column('vetting_next_review_on', sa.Date(), nullable=True),
    sa.Column('vetting_notes', sa.Text(), nullable=True),
    sa.Column('is_subject_to_gdpr_art3_2', sa.Boolean(), nullable=False),
    sa.Column('is_in_subject_list', sa.Boolean(), nullable=False),
    sa.Column('notice_period_days', sa.Integer(), nullable=True),
    sa.Column('notes', sa.Text(), nullable=True),
    sa.Column('uid', sa.String(length=36), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.CheckConstraint("(kind = 'international_organisation' AND country_code IS NULL AND organisation_code IS NOT NULL) OR (kind <> 'international_organisation' AND country_code IS NOT NULL)", name=op.f('ck_parties_location')),
    sa.CheckConstraint('starts_on IS NULL OR ends_on IS NULL OR starts_on <= ends_on', name=op.f('ck_parties_dates_ordered')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_parties')),
    sa.UniqueConstraint('kind', 'name_key', 'country_code', name='uq_parties_natural_key'),
    sa.UniqueConstraint('organisation_code', name=op.f('uq_parties_organisation_code')),
    sa.UniqueConstraint('uid', name=op.f('uq_parties_uid'))
    )
    with op.batch_alter_table('parties', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_parties_country_code'), ['country_code'], unique=False)
        batch_op.create_index(batch_op.f('ix_parties_kind'), ['kind'], unique=False)
        batch_op.create_index(batch_op.f('ix_parties_name_key'), ['name_key'], unique=False)
        batch_op.create_index(batch_op.f('ix_parties_status'), ['status'], unique=False)
        batch_op.create_index(batch_op.f('ix_parties_vetting_status'), ['vetting_status'], unique=False)

    op.create_table('users',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('email', sa.String(length=254), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('role', sa.String(length=40), nullable=False),
    sa.Column('password_hash', sa.String(length=200), nullable=False),
    sa.Column('is_active', sa.Boolean(), nullable=False),
    sa.Column('session_nonce', sa.String(length=32), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_users')),
    sa.UniqueConstraint('email', name=op.f('uq_users_email'))
    )
    op.create_table('audit_events',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('occurred_at', sa.DateTime(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('actor_label', sa.String(length=254), nullable=False),
    sa.Column('source', sa.String(length=40), nullable=False),
    sa.Column('record_type', sa.String(length=64), nullable=False),
    sa.Column('record_id', sa.Integer(), nullable=False),
    sa.Column('record_uid', sa.String(length=36), nullable=True),
    sa.Column('record_label', sa.String(length=300), nullable=False),
    sa.Column('record_version', sa.Integer(), nullable=True),
    sa.Column('action', sa.String(length=40), nullable=False),
    sa.Column('changes', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_audit_events_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_events'))
    )
    with op.batch_alter_table('audit_events', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_audit_events_occurred_at'), ['occurred_at'], unique=False)
        batch_op.create_index('ix_audit_events_record', ['record_type', 'record_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_audit_events_user_id'), ['user_id'], unique=False)

    op.create_table('bcr_memberships',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('approval_id', sa.Integer(), nullable=False),
    sa.Column('group_entity_id', sa.Integer(), nullable=False),
    sa.Column('bound_from', sa.Date(), nullable=False),
    sa.Column('bound_to', sa.Date(), nullable=True),
    sa.CheckConstraint('bound_to IS NULL OR bound_from <= bound_to', name=op.f('ck_bcr_memberships_dates_ordered')),
    sa.ForeignKeyConstraint(['approval_id'], ['bcr_approvals.id'], name=op.f('fk_bcr_memberships_approval_id_bcr_approvals'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['group_entity_id'], ['parties.id'], name=op.f('fk_bcr_memberships_group_entity_id_parties')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_bcr_memberships')),
    sa.UniqueConstraint('approval_id', 'group_entity_id', 'bound_from', name='uq_bcr_memberships_one_per_period')
    )
    with op.batch_alter_table('bcr_memberships', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_bcr_memberships_approval_id'), ['approval_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_bcr_memberships_group_entity_id'), ['group_entity_id'], unique=False)

    op.create_table('certificates',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('third_party_id', sa.Integer(), nullable=False),
    sa.Column('edition', sa.String(length=40), nullable=False),
    sa.Column('certificate_number', sa.String(length=100), nullable=False),
    sa.Column('certification_body', sa.String(length=200), nullable=False),
    sa.Column('scope', sa.Text(), nullable=True),
    sa.Column('issued_on', sa.Date(), nullable=False),
    sa.Column('expires_on', sa.Date(), nullable=False),
    sa.Column('last_verified_on', sa.Date(), nullable=True),
    sa.Column('withdrawn_on', sa.Date(), nullable=True),
    sa.Column('notes', sa.Text(), nullable=True),
    sa.Column('uid', sa.String(length=36), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.CheckConstraint('issued_on <= expires_on', name=op.f('ck_certificates_dates_ordered')),
    sa.ForeignKeyConstraint(['third_party_id'], ['parties.id'], name=op.f('fk_certificates_third_party_id_parties')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_certificates')),
    sa.UniqueConstraint('uid', name=op.f('uq_certificates_uid'))
    )
    with op.batch_alter_table('certificates', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_certificates_third_party_id'), ['third_party_id'], unique=False)

    op.create_table('dpf_certifications',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('third_party_id', sa.Integer(), nullable=False),
    sa.Column('framework', sa.String(length=40), nullable=False),
    sa.Column('covers_hr_data', sa.Boolean(), nullable=False),
    sa.Column('covers_non_hr_data', sa.Boolean(), nullable=False),
    sa.Column('certified_entity_name', sa.String(length=300), nullable=False),
    sa.Column('is_active', sa.Boolean(), nullable=False),
    sa.Column('verified_on', sa.Date(), nullable=True),
    sa.Column('notes', sa.Text(), nullable=True),
    sa.Column('uid', sa.String(length=36), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['third_party_id'], ['parties.id'], name=op.f('fk_dpf_certifications_third_party_id_parties')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_dpf_certifications')),
    sa.UniqueConstraint('third_party_id', 'framework', name='uq_dpf_certifications_one_per_framework'),
    sa.UniqueConstraint('uid', name=op.f('uq_dpf_certifications_uid'))
    )
    with op.batch_alter_table('dpf_certifications', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_dpf_certifications_third_party_id'), ['third_party_id'], unique=False)

    op.create_table('engagements',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('engager_id', sa.Integer(), nullable=False),
    sa.Column('engaged_id', sa.Integer(), nullable=False),
    sa.Column('service', sa.String(length=300), nullable=False),
    sa.Column('purpose', sa.String(length=300), nullable=True),
    sa.Column('relationship_type', sa.String(length=40), nullable=False),
    sa.Column('contract_reference', sa.String(length=200), nullable=True),
    sa.Column('contract_signed_on', sa.Date(), nullable=True),
    sa.Column('authorisation', sa.String(length=40), nullable=True),
    sa.Column('authorised_on', sa.Date(), nullable=True),
    sa.Column('status', sa.String(length=40), nullable=False),
    sa.Column('planned_start_on', sa.Date(), nullable=True),
    sa.Column('starts_on', sa.Date(), nullable=True),
    sa.Column('ends_on', sa.Date(), nullable=True),
    sa.Column('notes', sa.Text(), nullable=True),
    sa.Column('uid', sa.String(length=36), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.CheckConstraint('engager_id <> engaged_id', name=op.f('ck_engagements_not_self')),
    sa.CheckConstraint('starts_on IS NULL OR ends_on IS NULL OR starts_on <= ends_on', name=op.f('ck_engagements_dates_ordered')),
    sa.ForeignKeyConstraint(['engaged_id'], ['parties.id'], name=op.f('fk_engagements_engaged_id_parties')),
    sa.ForeignKeyConstraint(['engager_id'], ['parties.id'], name=op.f('fk_engagements_engager_id_parties')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_engagements')),
    sa.UniqueConstraint('engager_id', 'engaged_id', 'service', name='uq_engagements_one_per_service'),
    sa.UniqueConstraint('uid', name=op.f('uq_engagements_uid'))
    )
    with op.batch_alter_table('engagements', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_engagements_engaged_id'), ['engaged_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_engagements_engager_id'), ['engager_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_engagements_status'), ['status'], unique=False)

    op.create_table('scope_facts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('party_id', sa.Integer(), nullable=False),
    sa.Column('fact_key', sa.String(length=64), nullable=False),
    sa.Column('answer', sa.String(length=40), nullable=False),
    sa.Column('verified_on', sa.Date(), nullable=True),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('uid', sa.String(length=36), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['party_id'], ['parties.id'], name=op.f('fk_scope_facts_party_id_parties')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_scope_facts')),
    sa.UniqueConstraint('party_id', 'fact_key', name='uq_scope_facts_one_per_key'),
    sa.UniqueConstraint('uid', name=op.f('uq_scope_facts_uid'))
    )
    with op.batch_alter_table('scope_facts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_scope_facts_party_id'), ['party_id'], unique=False)

    op.create_table('transfer_instruments',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=40), nullable=False),
    sa.Column('title', sa.String(length=300), nullable=False),
    sa.Column('document_reference', sa.String(length=200), nullable=True),
    sa.Column('scc_decision', sa.String(length=40), nullable=True),
    sa.Column('scc_modules', sa.String(length=16), nullable=True),
    sa.Column('has_swiss_adaptation', sa.Boolean(), nullable=False),
    sa.Column('uk_addendum_version', sa.String(length=40), nullable=True),
    sa.Column('bcr_approval_id', sa.Integer(), nullable=True),
    sa.Column('derogation_ground', sa.String(length=40), nullable=True),
    sa.Column('derogation_justification', sa.Text(), nullable=True),
    sa.Column('scheme_name', sa.String(length=300), nullable=True),
    sa.Column('signed_on', sa.Date(), nullable=True),
    sa.Column('terminated_on', sa.Date(), nullable=True),
    sa.Column('status', sa.String(length=40), nullable=False),
    sa.Column('notes', sa.Text(), nullable=True),
    sa.Column('uid', sa.String(length=36), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.CheckConstraint('signed_on IS NULL OR terminated_on IS NULL OR signed_on <= terminated_on', name=op.f('ck_transfer_instruments_dates_ordered')),
    sa.ForeignKeyConstraint(['bcr_approval_id'], ['bcr_approvals.id'], name=op.f('fk_transfer_instruments_bcr_approval_id_bcr_approvals')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_transfer_instruments')),
    sa.UniqueConstraint('uid', name=op.f('uq_transfer_instruments_uid'))
    )
    with op.batch_alter_table('transfer_instruments', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_transfer_instruments_bcr_approval_id'), ['bcr_approval_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_transfer_instruments_kind'), ['kind'], unique=False)
        batch_op.create_index(batch_op.f('ix_transfer_instruments_status'), ['status'], unique=False)

    op.create_table('engagement_locations',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('engagement_id', sa.Integer(), nullable=False),
    sa.Column('country_code', sa.String(length=2), nullable=False),
    sa.Column('activity', sa.String(length=40), nullable=False),
    sa.ForeignKeyConstraint(['engagement_id'], ['engagements.id'], name=op.f('fk_engagement_locations_engagement_id_engagements'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_engagement_locations')),
    sa.UniqueConstraint('engagement_id', 'country_code', name='uq_engagement_locations_one_per_country')
    )
    with op.batch_alter_table('engagement_locations', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_engagement_locations_engagement_id'), ['engagement_id'], unique=False)

    op.create_table('instrument_parties',
    sa.Column('instrument_id', sa.Integer(), nullable=False),
    sa.Column('party_id', sa.Integer(), nullable=False),
    sa.Column('side', sa.String(length=40), nullable=False),
    sa.ForeignKeyConstraint(['instrument_id'], ['transfer_instruments.id'], name=op.f('fk_instrument_parties_instrument_id_transfer_instruments'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['party_id'], ['parties.id'], name=op.f('fk_instrument_parties_party_id_parties')),
    sa.PrimaryKeyConstraint('instrument_id', 'party_id', 'side', name=op.f('pk_instrument_parties'))
    )
    with op.batch_alter_table('instrument_parties', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_instrument_parties_party_id'), ['party_id'], unique=False)

    op.create_table('transfer_routes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('exporter_id', sa.Integer(), nullable=False),
    sa.Column('importer_id', sa.Integer(), nullable=False),
    sa.Column('destination_country', sa.String(length=2), nullable=True),
    sa.Column('destination_organisation_id', sa.Integer(), nullable=True),
    sa.Column('carries_eu_data', sa.Boolean(), nullable=False),
    sa.Column('carries_uk_data', sa.Boolean(), nullable=False),
    sa.Column('carries_ch_data', sa.Boolean(), nullable=False),
    sa.Column('source_route_id', sa.Integer(), nullable=True),
    sa.Column('exporter_role', sa.String(length=40), nullable=False),
    sa.Column('importer_role', sa.String(length=40), nullable=False),
    sa.Column('engagement_id', sa.Integer(), nullable=True),
    sa.Column('purpose', sa.String(length=300), nullable=True),
    sa.Column('data_subject_categories', sa.Text(), nullable=True),
    sa.Column('data_categories', sa.Text(), nullable=True),
    sa.Column('has_special_category_data', sa.Boolean(), nullable=False),
    sa.Column('special_category_basis', sa.String(length=40), nullable=True),
    sa.Column('consent_mechanism', sa.String(length=300), nullable=True),
    sa.Column('has_hr_data', sa.Boolean(), nullable=False),
    sa.Column('status', sa.String(length=40), nullable=False),
    sa.Column('starts_on', sa.Date(), nullable=True),
    sa.Column('ends_on', sa.Date(), nullable=True),
    sa.Column('notes', sa.Text(), nullable=True),
    sa.Column('uid', sa.String(length=36), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.CheckConstraint('(destination_country IS NULL) <> (destination_organisation_id IS NULL)', name=op.f('ck_transfer_routes_one_destination')),
    sa.CheckConstraint('exporter_id <> importer_id', name=op.f('ck_transfer_routes_not_self')),
    sa.CheckConstraint('starts_on IS NULL OR ends_on IS NULL OR starts_on <= ends_on', name=op.f('ck_transfer_routes_dates_ordered')),
    sa.ForeignKeyConstraint(['destination_organisation_id'], ['parties.id'], name=op.f('fk_transfer_routes_destination_organisation_id_parties')),
    sa.ForeignKeyConstraint(['engagement_id'], ['engagements.id'], name=op.f('fk_transfer_routes_engagement_id_engagements')),
    sa.ForeignKeyConstraint(['exporter_id'], ['parties.id'], name=op.f('fk_transfer_routes_exporter_id_parties')),
    sa.ForeignKeyConstraint(['importer_id'], ['parties.id'], name=op.f('fk_transfer_routes_importer_id_parties')),
    sa.ForeignKeyConstraint(['source_route_id'], ['transfer_routes.id'], name=op.f('fk_transfer_routes_source_route_id_transfer_routes')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_transfer_routes')),
    sa.UniqueConstraint('uid', name=op.f('uq_transfer_routes_uid'))
    )
    with op.batch_alter_table('transfer_routes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_transfer_routes_destination_country'), ['destination_country'], unique=False)
        batch_op.create_index(batch_op.f('ix_transfer_routes_destination_organisation_id'), ['destination_organisation_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_transfer_routes_engagement_id'), ['engagement_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_transfer_routes_exporter_id'), ['exporter_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_transfer_routes_importer_id'), ['importer_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_transfer_routes_source_route_id'), ['source_route_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_transfer_routes_status'), ['status'], unique=False)
        batch_op.create_index('ix_transfer_routes_status_destination', ['status', 'destination_country'], unique=False)

    op.create_table('route_instruments',
    sa.Column('route_id', sa.Integer(), nullable=False),
    sa.Column('instrument_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['instrument_id'], ['transfer_instruments.id'], name=op.f('fk_route_instruments_instrument_id_transfer_instruments')),
    sa.ForeignKeyConstraint(['route_id'], ['transfer_routes.id'], name=op.f('fk_route_instruments_route_id_transfer_routes'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('route_id', 'instrument_id', name=op.f('pk_route_instruments'))
    )
    with op.batch_alter_table('route_instruments', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_route_instruments_instrument_id'), ['instrument_id'], unique=False)

    op.create_table('transfer_impact_assessments',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('route_id', sa.Integer(), nullable=False),
    sa.Column('regime', sa.String(length=40), nullable=True),
    sa.Column('assessed_on', sa.Date(), nullable=False),
    sa.Column('outcome', sa.String(length=40), nullable=False),
    sa.Column('next_review_on', sa.Date(), nullable=True),
    sa.Column('document_reference', sa.String(length=200), nullable=True),
    sa.Column('notes', sa.Text(), nullable=True),
    sa.Column('uid', sa.String(length=36), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.CheckConstraint('next_review_on IS NULL OR assessed_on <= next_review_on', name=op.f('ck_transfer_impact_assessments_dates_ordered')),
    sa.ForeignKeyConstraint(['route_id'], ['transfer_routes.id'], name=op.f('fk_transfer_impact_assessments_route_id_transfer_routes')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_transfer_impact_assessments')),
    sa.UniqueConstraint('uid', name=op.f('uq_transfer_impact_assessments_uid'))
    )
    with op.batch_alter_table('transfer_impact_assessments', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_transfer_impact_assessments_route_id'), ['route_id'], unique=False)



def downgrade():
    with op.batch_alter_table('transfer_impact_assessments', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_transfer_impact_assessments_route_id'))

    op.drop_table('transfer_impact_assessments')
    with op.batch_alter_table('route_instruments', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_route_instruments_instrument_id'))

    op.drop_table('route_instruments')
    with op.batch_alter_table('transfer_routes', schema=None) as batch_op:
        batch_op.drop_index('ix_transfer_routes_status_destination')
        batch_op.drop_index(batch_op.f('ix_transfer_routes_status'))
        batch_op.drop_index(batch_op.f('ix_transfer_routes_source_route_id'))
        batch_op.drop_index(batch_op.f('ix_transfer_routes_importer_id'))
        batch_op.drop_index(batch_op.f('ix_transfer_routes_exporter_id'))
        batch_op.drop_index(batch_op.f('ix_transfer_routes_engagement_id'))
        batch_op.drop_index(batch_op.f('ix_transfer_routes_destination_organisation_id'))
        batch_op.drop_index(batch_op.f('ix_transfer_routes_destination_country'))

    op.drop_table('transfer_routes')
    with op.batch_alter_table('instrument_parties', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_instrument_parties_party_id'))

    op.drop_table('instrument_parties')
    with op.batch_alter_table('engagement_locations', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_engagement_locations_engagement_id'))

    op.drop_table('engagement_locations')
    with op.batch_alter_table('transfer_instruments', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_transfer_instruments_status'))
        batch_op.drop_index(batch_op.f('ix_transfer_instruments_kind'))
        batch_op.drop_index(batch_op.f('ix_transfer_instruments_bcr_approval_id'))

    op.drop_table('transfer_instruments')
    with op.batch_alter_table('scope_facts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_scope_facts_party_id'))

    op.drop_table('scope_facts')
    with op.batch_alter_table('engagements', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_engagements_status'))
        batch_op.drop_index(batch_op.f('ix_engagements_engager_id'))
        batch_op.drop_index(batch_op.f('ix_engagements_engaged_id'))

    op.drop_table('engagements')
    with op.batch_alter_table('dpf_certifications', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_dpf_certifications_third_party_id'))

    op.drop_table('dpf_certifications')
    with op.batch_alter_table('certificates', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_certificates_third_party_id'))

    op.drop_table('certificates')
    with op.batch_alter_table('bcr_memberships', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_bcr_memberships_group_entity_id'))
        batch_op.drop_index(batch_op.f('ix_bcr_memberships_approval_id'))

    op.drop_table('bcr_memberships')
    with op.batch_alter_table('audit_events', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_audit_events_user_id'))
        batch_op.drop_index('ix_audit_events_record')
        batch_op.drop_index(batch_op.f('ix_audit_events_occurred_at'))

    op.drop_table('audit_events')
    op.drop_table('users')
    with op.batch_alter_table('parties', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_parties_vetting_status'))
        batch_op.drop_index(batch_op.f('ix_parties_status'))
        batch_op.drop_index(batch_op.f('ix_parties_name_key'))
        batch_op.drop_index(batch_op.f('ix_parties_kind'))
        batch_op.drop_index(batch_op.f('ix_parties_country_code'))

    op.drop_table('parties')
    op.drop_table('login_throttles')
    op.drop_table('bcr_approvals')
