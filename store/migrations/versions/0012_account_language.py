"""The language an account's mail is written in (its invitation says it; the language switch keeps it).

Revision ID: 0012
"""

import sqlite3

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("account") as batch:
        batch.add_column(sa.Column("language", sqlmodel.sql.sqltypes.AutoString(), nullable=True))


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "sqlite" and sqlite3.sqlite_version_info >= (3, 35):
        # a plain DROP COLUMN: the batch way rebuilds the table, and its DROP TABLE would cascade into the
        # invitations and sign-in sessions that refer to the accounts
        op.execute("ALTER TABLE account DROP COLUMN language")
        return
    with op.batch_alter_table("account") as batch:
        batch.drop_column("language")
