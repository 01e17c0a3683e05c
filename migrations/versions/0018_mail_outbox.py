"""Mail: the outbox (each message written with what causes it, sent by the worker) and each delivery attempt

Revision ID: 0018
Revises: 0017

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "mail_outbox",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=30), nullable=False),
        sa.Column("to_address", sa.String(length=254), nullable=False),
        sa.Column("subject", sa.String(length=250), nullable=False),
        sa.Column("text_body", sa.Text(), nullable=False),
        sa.Column("html_body", sa.Text(), nullable=True),
        sa.Column("dedup_key", sa.String(length=250), nullable=True),
        sa.Column("state", sa.String(length=10), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("sent_at", sa.DateTime(), nullable=True),
        sa.Column("last_error", sa.String(length=500), nullable=True),
        sa.Column("about_type", sa.String(length=40), nullable=True),
        sa.Column("about_id", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mail_outbox")),
        sa.UniqueConstraint("dedup_key", name=op.f("uq_mail_outbox_dedup_key")),
    )
    op.create_index(op.f("ix_mail_outbox_kind"), "mail_outbox", ["kind"], unique=False)
    op.create_index(op.f("ix_mail_outbox_state"), "mail_outbox", ["state"], unique=False)
    op.create_index(op.f("ix_mail_outbox_next_attempt_at"), "mail_outbox", ["next_attempt_at"], unique=False)
    op.create_index("ix_mail_outbox_about", "mail_outbox", ["about_type", "about_id"], unique=False)
    op.create_table(
        "mail_deliveries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("message_id", sa.Integer(), nullable=False),
        sa.Column("attempted_at", sa.DateTime(), nullable=False),
        sa.Column("outcome", sa.String(length=10), nullable=False),
        sa.Column("detail", sa.String(length=500), nullable=True),
        sa.ForeignKeyConstraint(["message_id"], ["mail_outbox.id"], name=op.f("fk_mail_deliveries_message_id_mail_outbox"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mail_deliveries")),
    )
    op.create_index(op.f("ix_mail_deliveries_message_id"), "mail_deliveries", ["message_id"], unique=False)


def downgrade():
    op.drop_index(op.f("ix_mail_deliveries_message_id"), table_name="mail_deliveries")
    op.drop_table("mail_deliveries")
    op.drop_index("ix_mail_outbox_about", table_name="mail_outbox")
    op.drop_index(op.f("ix_mail_outbox_next_attempt_at"), table_name="mail_outbox")
    op.drop_index(op.f("ix_mail_outbox_state"), table_name="mail_outbox")
    op.drop_index(op.f("ix_mail_outbox_kind"), table_name="mail_outbox")
    op.drop_table("mail_outbox")
