"""Regions: the register's own named sets of countries; a route's destination and a processing location
may be a region's code (up to 32 characters)

Revision ID: 0015
Revises: 0014

"""
import re

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def _sqlite_column_type(table: str, column: str, before: str, after: str) -> None:
    """Change a column's declared length in place on SQLite.

    A batch copy of transfer_routes is refused (foreign keys point at it), and SQLite has no ALTER
    COLUMN; a VARCHAR's length is never enforced there, so only the declared type in the schema
    changes. This is SQLite's own procedure for changes that leave the stored rows as they are
    (sqlite.org/lang_altertable.html, section 7: writable_schema, schema_version bumped).
    """
    connection = op.get_bind()
    sql = connection.exec_driver_sql("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?", (table,)).scalar()
    changed, count = re.subn(rf"(\b{column}\b\s+){re.escape(before)}", rf"\g<1>{after}", sql, count=1)
    if count != 1:
        raise RuntimeError(f"{table}.{column}: declared type {before} not found")
    version = connection.exec_driver_sql("PRAGMA schema_version").scalar()
    connection.exec_driver_sql("PRAGMA writable_schema = ON")
    connection.exec_driver_sql("UPDATE sqlite_master SET sql = ? WHERE type = 'table' AND name = ?", (changed, table))
    connection.exec_driver_sql(f"PRAGMA schema_version = {int(version) + 1}")
    connection.exec_driver_sql("PRAGMA writable_schema = OFF")


def _widen(table: str, column: str, before: int, after: int) -> None:
    if op.get_bind().dialect.name == "sqlite":
        _sqlite_column_type(table, column, f"VARCHAR({before})", f"VARCHAR({after})")
    else:
        op.alter_column(table, column, existing_type=sa.String(length=before), type_=sa.String(length=after))


def upgrade():
    op.create_table("regions",
    sa.Column("id", sa.Integer(), nullable=False),
    sa.Column("code", sa.String(length=32), nullable=False),
    sa.Column("name", sa.String(length=200), nullable=False),
    sa.Column("country_codes", sa.Text(), nullable=False),
    sa.Column("notes", sa.Text(), nullable=True),
    sa.Column("uid", sa.String(length=36), nullable=False),
    sa.Column("created_at", sa.DateTime(), nullable=False),
    sa.Column("updated_at", sa.DateTime(), nullable=False),
    sa.Column("version", sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint("id", name=op.f("pk_regions")),
    sa.UniqueConstraint("code", name=op.f("uq_regions_code")),
    sa.UniqueConstraint("uid", name=op.f("uq_regions_uid"))
    )
    _widen("transfer_routes", "destination_country", 2, 32)
    _widen("engagement_locations", "country_code", 2, 32)


def downgrade():
    connection = op.get_bind()
    for table, column in (("transfer_routes", "destination_country"), ("engagement_locations", "country_code")):
        longer = connection.execute(sa.text(f"SELECT COUNT(*) FROM {table} WHERE LENGTH({column}) > 2")).scalar()
        if longer:
            raise RuntimeError(f"{longer} row(s) of {table} name a region in {column}: change them to a country first")
    _widen("engagement_locations", "country_code", 32, 2)
    _widen("transfer_routes", "destination_country", 32, 2)
    op.drop_table("regions")
