"""agenda: relatives who get an appointment's reminders too

Revision ID: 0007
Revises: 0006
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "appointment_watches",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("appointment_id", sa.Integer(), nullable=False),
        sa.Column("watcher_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(), server_default=sa.text("(CURRENT_TIMESTAMP)"),
                  nullable=False),
        sa.ForeignKeyConstraint(["appointment_id"], ["appointments.id"],
                                name=op.f("fk_appointment_watches_appointment_id_appointments"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["watcher_id"], ["users.id"],
                                name=op.f("fk_appointment_watches_watcher_id_users"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_appointment_watches")),
        sa.UniqueConstraint("appointment_id", "watcher_id",
                            name=op.f("uq_appointment_watches_appointment_id")),
    )
    with op.batch_alter_table("appointment_watches", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_appointment_watches_appointment_id"),
                              ["appointment_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_appointment_watches_watcher_id"), ["watcher_id"],
                              unique=False)


def downgrade():
    with op.batch_alter_table("appointment_watches", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_appointment_watches_watcher_id"))
        batch_op.drop_index(batch_op.f("ix_appointment_watches_appointment_id"))
    op.drop_table("appointment_watches")
