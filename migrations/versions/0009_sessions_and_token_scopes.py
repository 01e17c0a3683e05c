"""server-side sessions; API tokens with a scope, an expiry and a last-used time

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-26 10:00:00

Sessions move from a per-user nonce to one row per login (user_sessions), so the nonce goes. The
tokens that exist get the scope their user's role allows and the default expiry from now
(API_TOKEN_DAYS, 90 days unless set).
"""
import os
import uuid
from datetime import datetime, timedelta, timezone

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('user_sessions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('id_hash', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('last_seen_at', sa.DateTime(), nullable=False),
    sa.Column('user_agent', sa.String(length=300), nullable=False),
    sa.Column('address', sa.String(length=64), nullable=False),
    sa.Column('ended_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_user_sessions_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_user_sessions')),
    sa.UniqueConstraint('id_hash', name=op.f('uq_user_sessions_id_hash'))
    )
    with op.batch_alter_table('user_sessions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_user_sessions_user_id'), ['user_id'], unique=False)

    # Not in batch mode: on SQLite that copies the table, and dropping `users` fails while tokens and
    # audit events point at it. ALTER TABLE ... DROP COLUMN (SQLite 3.35+) changes it in place.
    op.drop_column('users', 'session_nonce')

    with op.batch_alter_table('api_tokens', schema=None) as batch_op:
        batch_op.add_column(sa.Column('scope', sa.String(length=40), nullable=True))
        batch_op.add_column(sa.Column('expires_at', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('last_used_at', sa.DateTime(), nullable=True))

    expires_at = (datetime.now(timezone.utc) + timedelta(days=int(os.environ.get('API_TOKEN_DAYS', '90')))).replace(tzinfo=None)
    op.execute(sa.text(
        "UPDATE api_tokens SET expires_at = :expires_at, scope = CASE WHEN (SELECT role FROM users "
        "WHERE users.id = api_tokens.user_id) IN ('admin', 'editor') THEN 'read_write' ELSE 'read' END"
    ).bindparams(expires_at=expires_at))

    with op.batch_alter_table('api_tokens', schema=None) as batch_op:
        batch_op.alter_column('scope', existing_type=sa.String(length=40), nullable=False)
        batch_op.alter_column('expires_at', existing_type=sa.DateTime(), nullable=False)


def downgrade():
    with op.batch_alter_table('api_tokens', schema=None) as batch_op:
        batch_op.drop_column('last_used_at')
        batch_op.drop_column('expires_at')
        batch_op.drop_column('scope')

    # Every session ends on the way down: each user gets a fresh random nonce. (A server default, not
    # a copy of the table on SQLite: see upgrade.)
    op.add_column('users', sa.Column('session_nonce', sa.String(length=32), nullable=False, server_default=''))
    connection = op.get_bind()
    for (user_id,) in connection.execute(sa.text("SELECT id FROM users")).all():
        connection.execute(sa.text("UPDATE users SET session_nonce = :nonce WHERE id = :id"),
                           {"nonce": uuid.uuid4().hex, "id": user_id})

    with op.batch_alter_table('user_sessions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_user_sessions_user_id'))

    op.drop_table('user_sessions')
