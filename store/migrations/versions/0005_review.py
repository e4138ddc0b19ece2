"""The secretariat's review: profiles sent through the public intake wait as submissions; a stored
profile says whether its facts are self-declared.

Revision ID: 0005
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

_STR = sqlmodel.sql.sqltypes.AutoString
_TIME = sqlmodel.sql.sqltypes.UTCDateTime


def upgrade() -> None:
    with op.batch_alter_table("stakeholder") as batch:
        batch.add_column(sa.Column("self_declared", sa.Boolean(), nullable=False, server_default=sa.false()))
    op.create_table(
        "submission",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("status", _STR(), nullable=False),
        sa.Column("channel", _STR(), nullable=False),
        sa.Column("filename", _STR(), nullable=True),
        sa.Column("sheets", sa.JSON(), nullable=False),
        sa.Column("summary", _STR(), nullable=False),
        sa.Column("client", _STR(), nullable=False),
        sa.Column("submitted_at", _TIME(), nullable=False),
        sa.Column("reviewed_at", _TIME(), nullable=True),
        sa.Column("reviewed_by", _STR(), nullable=True),
        sa.Column("reason", _STR(), nullable=True),
        sa.Column("imported", sa.JSON(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False, server_default="1"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_submission_status"), "submission", ["status"], unique=False)
    op.create_index(op.f("ix_submission_client"), "submission", ["client"], unique=False)


def downgrade() -> None:
    op.drop_table("submission")
    with op.batch_alter_table("stakeholder") as batch:
        batch.drop_column("self_declared")
