"""What came of each forum meeting, told by either side (issue 16, item 1).

Revision ID: 0011
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

_STR = sqlmodel.sql.sqltypes.AutoString
_TIME = sqlmodel.sql.sqltypes.UTCDateTime


def upgrade() -> None:
    op.create_table(
        "meetingoutcome",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("forum", _STR(), nullable=False),
        sa.Column("a", _STR(), nullable=False),
        sa.Column("b", _STR(), nullable=False),
        sa.Column("org", _STR(), nullable=False),
        sa.Column("stage", _STR(), nullable=False),
        sa.Column("result", _STR(), nullable=False),
        sa.Column("note", _STR(), nullable=False),
        sa.Column("answered_by", _STR(), nullable=False),
        sa.Column("answered_at", _TIME(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False, server_default="1"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("forum", "a", "b", "org", "stage"),
    )
    op.create_index(op.f("ix_meetingoutcome_forum"), "meetingoutcome", ["forum"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_meetingoutcome_forum"), table_name="meetingoutcome")
    op.drop_table("meetingoutcome")
