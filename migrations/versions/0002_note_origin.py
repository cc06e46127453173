"""note_events.origin: a note played on the keys (midi) or heard by the microphone (audio)

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-01 23:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Notes stored before protocol 1.1 came from MIDI only: the default says so.
    with op.batch_alter_table("note_events") as batch:
        batch.add_column(
            sa.Column("origin", sa.String(length=8), server_default="midi", nullable=False)
        )


def downgrade() -> None:
    with op.batch_alter_table("note_events") as batch:
        batch.drop_column("origin")
