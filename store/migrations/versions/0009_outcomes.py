"""What became of introductions: outcomes of accepted interests, the questions asked about them, and
"no thanks" between organisations (issue 16).

Revision ID: 0009
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

_STR = sqlmodel.sql.sqltypes.AutoString
_TIME = sqlmodel.sql.sqltypes.UTCDateTime


def upgrade() -> None:
    with op.batch_alter_table("interest") as batch:
        batch.add_column(sa.Column("accepted_at", _TIME(), nullable=True))
    # interests accepted before this revision: accepted when last changed (the best time known)
    op.execute("UPDATE interest SET accepted_at = updated_at WHERE status = 'accepted'")
    op.create_table(
        "outcome",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("interest_id", sa.Integer(), nullable=False),
        sa.Column("org", _STR(), nullable=False),
        sa.Column("stage", _STR(), nullable=False),
        sa.Column("result", _STR(), nullable=False),
        sa.Column("note", _STR(), nullable=False),
        sa.Column("answered_by", _STR(), nullable=False),
        sa.Column("answered_at", _TIME(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False, server_default="1"),
        sa.ForeignKeyConstraint(["interest_id"], ["interest.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("interest_id", "org", "stage"),
    )
    op.create_index(op.f("ix_outcome_interest_id"), "outcome", ["interest_id"], unique=False)
    op.create_index(op.f("ix_outcome_org"), "outcome", ["org"], unique=False)
    op.create_table(
        "outcomequestion",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("interest_id", sa.Integer(), nullable=False),
        sa.Column("org", _STR(), nullable=False),
        sa.Column("stage", _STR(), nullable=False),
        sa.Column("asked_at", _TIME(), nullable=False),
        sa.ForeignKeyConstraint(["interest_id"], ["interest.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("interest_id", "org", "stage"),
    )
    op.create_index(op.f("ix_outcomequestion_interest_id"), "outcomequestion", ["interest_id"], unique=False)
    op.create_table(
        "nothanks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("org", _STR(), nullable=False),
        sa.Column("other", _STR(), nullable=False),
        sa.Column("said_by", _STR(), nullable=False),
        sa.Column("said_at", _TIME(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("org", "other"),
    )
    op.create_index(op.f("ix_nothanks_org"), "nothanks", ["org"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_nothanks_org"), table_name="nothanks")
    op.drop_table("nothanks")
    op.drop_index(op.f("ix_outcomequestion_interest_id"), table_name="outcomequestion")
    op.drop_table("outcomequestion")
    op.drop_index(op.f("ix_outcome_org"), table_name="outcome")
    op.drop_index(op.f("ix_outcome_interest_id"), table_name="outcome")
    op.drop_table("outcome")
    with op.batch_alter_table("interest") as batch:
        batch.drop_column("accepted_at")
