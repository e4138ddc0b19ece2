"""A forum's time zone (IANA name): slot times given without an offset are read in it, and pages
show times in it. Forums stored before have none (their times are as they were stored).

Revision ID: 0003
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("forum") as batch:
        batch.add_column(sa.Column("time_zone", sqlmodel.sql.sqltypes.AutoString(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("forum") as batch:
        batch.drop_column("time_zone")
