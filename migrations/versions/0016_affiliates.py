"""Affiliates: a third party's own legal entities per country name the vendor they belong to (parent_id)

Revision ID: 0016
Revises: 0015

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade():
    if op.get_bind().dialect.name == "sqlite":
        # In place: a batch copy of parties is refused (foreign keys point at it), and SQLite adds a
        # column with its own foreign key (a REFERENCES clause, default NULL) but no separate constraint.
        op.get_bind().exec_driver_sql(
            "ALTER TABLE parties ADD COLUMN parent_id INTEGER CONSTRAINT fk_parties_parent_id_parties REFERENCES parties (id)")
    else:
        op.add_column("parties", sa.Column("parent_id", sa.Integer(), nullable=True))
        op.create_foreign_key(op.f("fk_parties_parent_id_parties"), "parties", "parties", ["parent_id"], ["id"])
    op.create_index(op.f("ix_parties_parent_id"), "parties", ["parent_id"], unique=False)


def downgrade():
    op.drop_index(op.f("ix_parties_parent_id"), table_name="parties")
    if op.get_bind().dialect.name != "sqlite":
        op.drop_constraint(op.f("fk_parties_parent_id_parties"), "parties", type_="foreignkey")
    # In place (SQLite 3.35+ drops a column whose foreign key is its own column constraint).
    op.drop_column("parties", "parent_id")
