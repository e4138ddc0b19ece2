"""Row versions (optimistic concurrency) and the data version with its change log, which every
process follows to keep its in-memory search state in step with the database.

Revision ID: 0002
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    for table in ("stakeholder", "project", "forum"):
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column("version", sa.Integer(), nullable=False, server_default="1"))
    op.create_table(
        "data_version",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.execute("INSERT INTO data_version (id, version) VALUES (1, 0)")
    op.create_table(
        "change",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("entity_type", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("entity_id", sa.Integer(), nullable=False),
        sa.Column("op", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_change_version"), "change", ["version"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_change_version"), table_name="change")
    op.drop_table("change")
    op.drop_table("data_version")
    for table in ("forum", "project", "stakeholder"):
        with op.batch_alter_table(table) as batch:
            batch.drop_column("version")
