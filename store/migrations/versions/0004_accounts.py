"""Accounts, API tokens, sign-in sessions and failed sign-ins: who may do what (README, "Roles").

Revision ID: 0004
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

_STR = sqlmodel.sql.sqltypes.AutoString


def upgrade() -> None:
    op.create_table(
        "account",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("email", _STR(), nullable=False),
        sa.Column("name", _STR(), nullable=False),
        sa.Column("role", _STR(), nullable=False),
        sa.Column("organisation", _STR(), nullable=True),
        sa.Column("password_hash", _STR(), nullable=True),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("disabled_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_account_email"), "account", ["email"], unique=True)
    op.create_index(op.f("ix_account_organisation"), "account", ["organisation"], unique=False)
    op.create_table(
        "api_token",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token_hash", _STR(), nullable=False),
        sa.Column("prefix", _STR(), nullable=False),
        sa.Column("role", _STR(), nullable=False),
        sa.Column("organisation", _STR(), nullable=True),
        sa.Column("label", _STR(), nullable=False),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("revoked_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_api_token_token_hash"), "api_token", ["token_hash"], unique=True)
    op.create_table(
        "login_session",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key_hash", _STR(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("csrf", _STR(), nullable=False),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("expires_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["account_id"], ["account.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_login_session_key_hash"), "login_session", ["key_hash"], unique=True)
    op.create_index(op.f("ix_login_session_account_id"), "login_session", ["account_id"], unique=False)
    op.create_table(
        "login_failure",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("email", _STR(), nullable=False),
        sa.Column("client", _STR(), nullable=False),
        sa.Column("at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    for column in ("email", "client", "at"):
        op.create_index(op.f(f"ix_login_failure_{column}"), "login_failure", [column], unique=False)


def downgrade() -> None:
    op.drop_table("login_failure")
    op.drop_table("login_session")
    op.drop_table("api_token")
    op.drop_table("account")
