"""tag_verdicts: tags people confirmed or rejected on a sound

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-03 12:40:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "tag_verdicts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("sound_id", sa.Integer(), nullable=False),
        sa.Column("tag", sa.String(length=100), nullable=False),
        sa.Column("verdict", sa.String(length=20), nullable=False),
        sa.Column("by", sa.String(length=200), nullable=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["sound_id"], ["sounds.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("sound_id", "tag"),
    )
    op.create_index("ix_tag_verdicts_sound_id", "tag_verdicts", ["sound_id"])


def downgrade() -> None:
    op.drop_index("ix_tag_verdicts_sound_id", table_name="tag_verdicts")
    op.drop_table("tag_verdicts")
