"""Subscribers to the public processor list: confirmed by mail, sent each change or a daily digest

Revision ID: 0019
Revises: 0018

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "list_subscribers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("frequency", sa.String(length=10), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("confirmed_at", sa.DateTime(), nullable=True),
        sa.Column("sent_up_to", sa.Integer(), nullable=False),
        sa.Column("last_digest_on", sa.Date(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_list_subscribers")),
        sa.UniqueConstraint("email", name=op.f("uq_list_subscribers_email")),
    )


def downgrade():
    op.drop_table("list_subscribers")
