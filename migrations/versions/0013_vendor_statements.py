"""Vendor statements (what a vendor states about its transfers, with source and date) and party aliases

Revision ID: 0013
Revises: 0011

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "0013"
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table("vendor_statements",
    sa.Column("id", sa.Integer(), nullable=False),
    sa.Column("party_id", sa.Integer(), nullable=False),
    sa.Column("engagement_id", sa.Integer(), nullable=True),
    sa.Column("mechanism", sa.String(length=40), nullable=False),
    sa.Column("dpf_framework", sa.String(length=40), nullable=True),
    sa.Column("stated_text", sa.String(length=300), nullable=True),
    sa.Column("regime", sa.String(length=40), nullable=True),
    sa.Column("source", sa.String(length=300), nullable=False),
    sa.Column("source_url", sa.String(length=500), nullable=True),
    sa.Column("stated_on", sa.Date(), nullable=False),
    sa.Column("notes", sa.Text(), nullable=True),
    sa.Column("uid", sa.String(length=36), nullable=False),
    sa.Column("created_at", sa.DateTime(), nullable=False),
    sa.Column("updated_at", sa.DateTime(), nullable=False),
    sa.Column("version", sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(["engagement_id"], ["engagements.id"], name=op.f("fk_vendor_statements_engagement_id_engagements")),
    sa.ForeignKeyConstraint(["party_id"], ["parties.id"], name=op.f("fk_vendor_statements_party_id_parties")),
    sa.PrimaryKeyConstraint("id", name=op.f("pk_vendor_statements")),
    sa.UniqueConstraint("uid", name=op.f("uq_vendor_statements_uid"))
    )
    with op.batch_alter_table("vendor_statements", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_vendor_statements_engagement_id"), ["engagement_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_vendor_statements_party_id"), ["party_id"], unique=False)

    with op.batch_alter_table("parties", schema=None) as batch_op:
        batch_op.add_column(sa.Column("aliases", sa.Text(), nullable=True))


def downgrade():
    op.drop_index(op.f("ix_vendor_statements_party_id"), table_name="vendor_statements")
    op.drop_index(op.f("ix_vendor_statements_engagement_id"), table_name="vendor_statements")
    op.drop_table("vendor_statements")
    # In place (SQLite 3.35+): a batch copy of parties is refused by the foreign keys pointing at it.
    op.drop_column("parties", "aliases")
