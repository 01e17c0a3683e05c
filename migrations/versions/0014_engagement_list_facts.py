"""Engagements: the categories of personal data and the condition the subject-facing list shows

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-03 14:30:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('engagements', schema=None) as batch_op:
        batch_op.add_column(sa.Column('data_categories', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('condition', sa.String(length=300), nullable=True))


def downgrade():
    # ALTER TABLE ... DROP COLUMN (SQLite 3.35+) in place: a batch copy would drop and recreate the table,
    # which the foreign keys pointing at engagements refuse.
    op.drop_column('engagements', 'condition')
    op.drop_column('engagements', 'data_categories')
