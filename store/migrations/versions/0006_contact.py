"""Consent before contact: interests between organisations, one-time invitations, and the outbox of
mails the service sends.

Revision ID: 0006
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

_STR = sqlmodel.sql.sqltypes.AutoString
_TIME = sqlmodel.sql.sqltypes.UTCDateTime


def upgrade() -> None:
    op.create_table(
        "invitation",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("token_hash", _STR(), nullable=False),
        sa.Column("created_at", _TIME(), nullable=False),
        sa.Column("expires_at", _TIME(), nullable=False),
        sa.Column("used_at", _TIME(), nullable=True),
        sa.ForeignKeyConstraint(["account_id"], ["account.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_invitation_account_id"), "invitation", ["account_id"], unique=False)
    op.create_index(op.f("ix_invitation_token_hash"), "invitation", ["token_hash"], unique=True)
    op.create_table(
        "outbox",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("to", _STR(), nullable=False),
        sa.Column("subject", _STR(), nullable=False),
        sa.Column("body", _STR(), nullable=False),
        sa.Column("created_at", _TIME(), nullable=False),
        sa.Column("sent_at", _TIME(), nullable=True),
        sa.Column("error", _STR(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_outbox_to"), "outbox", ["to"], unique=False)
    op.create_index(op.f("ix_outbox_created_at"), "outbox", ["created_at"], unique=False)
    op.create_table(
        "interest",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("from_org", _STR(), nullable=False),
        sa.Column("to_org", _STR(), nullable=False),
        sa.Column("message", _STR(), nullable=False),
        sa.Column("status", _STR(), nullable=False),
        sa.Column("brokered", sa.Boolean(), nullable=False),
        sa.Column("live_pair", _STR(), nullable=True),
        sa.Column("created_by", _STR(), nullable=False),
        sa.Column("created_at", _TIME(), nullable=False),
        sa.Column("updated_at", _TIME(), nullable=False),
        sa.Column("decided_by", _STR(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False, server_default="1"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_interest_from_org"), "interest", ["from_org"], unique=False)
    op.create_index(op.f("ix_interest_to_org"), "interest", ["to_org"], unique=False)
    op.create_index(op.f("ix_interest_status"), "interest", ["status"], unique=False)
    op.create_index(op.f("ix_interest_live_pair"), "interest", ["live_pair"], unique=True)


def downgrade() -> None:
    op.drop_table("interest")
    op.drop_table("outbox")
    op.drop_table("invitation")
