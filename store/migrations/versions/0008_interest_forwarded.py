"""When the secretariat forwarded a brokered interest: until then the other side does not see it.

Revision ID: 0008
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("interest") as batch:
        batch.add_column(sa.Column("forwarded_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("interest") as batch:
        batch.drop_column("forwarded_at")
