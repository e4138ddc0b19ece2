"""When each profile was last confirmed as current, and the reminders sent about it (issue 16).

Revision ID: 0010
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

_STR = sqlmodel.sql.sqltypes.AutoString
_TIME = sqlmodel.sql.sqltypes.UTCDateTime


def upgrade() -> None:
    with op.batch_alter_table("stakeholder") as batch:
        batch.add_column(sa.Column("confirmed_at", _TIME(), nullable=True))
    op.execute("UPDATE stakeholder SET confirmed_at = updated_at")  # last written: the best date known
    op.create_table(
        "reminder",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", _STR(), nullable=False),
        sa.Column("subject", _STR(), nullable=False),
        sa.Column("sent_at", _TIME(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("kind", "subject"),
    )


def downgrade() -> None:
    op.drop_table("reminder")
    with op.batch_alter_table("stakeholder") as batch:
        batch.drop_column("confirmed_at")
