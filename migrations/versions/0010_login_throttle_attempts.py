"""login throttles count attempts per account in a window; no lock column

The per-address counts move to the rate limiter's storage and the lock follows from the window, so
the rows kept so far (short-lived counters, some per address) are dropped rather than converted.

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-26 10:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0010'
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade():
    op.execute("DELETE FROM login_throttles")
    with op.batch_alter_table('login_throttles', schema=None) as batch_op:
        batch_op.alter_column('failures', new_column_name='attempts', existing_type=sa.Integer(), existing_nullable=False)
        batch_op.drop_column('locked_until')


def downgrade():
    op.execute("DELETE FROM login_throttles")
    with op.batch_alter_table('login_throttles', schema=None) as batch_op:
        batch_op.add_column(sa.Column('locked_until', sa.DateTime(), nullable=True))
        batch_op.alter_column('attempts', new_column_name='failures', existing_type=sa.Integer(), existing_nullable=False)
