"""The audit log of every write, and the trash that makes deletion undoable.

Revision ID: 0007
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

_STR = sqlmodel.sql.sqltypes.AutoString
_TIME = sqlmodel.sql.sqltypes.UTCDateTime


def upgrade() -> None:
    op.create_table(
        "audit",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", _TIME(), nullable=False),
        sa.Column("actor", _STR(), nullable=False),
        sa.Column("role", _STR(), nullable=False),
        sa.Column("organisation", _STR(), nullable=True),
        sa.Column("action", _STR(), nullable=False),
        sa.Column("target", _STR(), nullable=False),
        sa.Column("status", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    for column in ("at", "actor", "target"):
        op.create_index(op.f(f"ix_audit_{column}"), "audit", [column], unique=False)
    op.create_table(
        "trash",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("entity_type", _STR(), nullable=False),
        sa.Column("external_id", _STR(), nullable=False),
        sa.Column("record", sa.JSON(), nullable=False),
        sa.Column("deleted_at", _TIME(), nullable=False),
        sa.Column("deleted_by", _STR(), nullable=False),
        sa.Column("restored_at", _TIME(), nullable=True),
        sa.Column("restored_by", _STR(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_trash_external_id"), "trash", ["external_id"], unique=False)


def downgrade() -> None:
    op.drop_table("trash")
    op.drop_table("audit")
