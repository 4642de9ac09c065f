"""circle: grants with scopes and end dates, blocks, invitations, access requests, emergency
accesses, circle settings, in-app notices, and the append-only access history

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def _users_fk(table, column, ondelete="CASCADE"):
    return sa.ForeignKeyConstraint([column], ["users.id"],
                                   name=op.f(f"fk_{table}_{column}_users"), ondelete=ondelete)


def upgrade():
    op.create_table(
        "circle_grants",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("grantee_id", sa.Integer(), nullable=False),
        sa.Column("scopes", sa.String(length=80), nullable=False),
        sa.Column("ends_at", sa.DateTime(), nullable=True),
        sa.Column("revoked_at", sa.DateTime(), nullable=True),
        sa.Column("created_at", sa.DateTime(), server_default=sa.func.now(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=True),
        sa.Column("expiry_signalled_at", sa.DateTime(), nullable=True),
        _users_fk("circle_grants", "grantee_id"),
        _users_fk("circle_grants", "patient_id"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_circle_grants")),
        sa.UniqueConstraint("patient_id", "grantee_id", name=op.f("uq_circle_grants_patient_id")),
    )
    with op.batch_alter_table("circle_grants", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_circle_grants_grantee_id"), ["grantee_id"])
        batch_op.create_index(batch_op.f("ix_circle_grants_patient_id"), ["patient_id"])

    op.create_table(
        "circle_blocks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("professional_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(), server_default=sa.func.now(), nullable=False),
        _users_fk("circle_blocks", "patient_id"),
        _users_fk("circle_blocks", "professional_id"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_circle_blocks")),
        sa.UniqueConstraint("patient_id", "professional_id",
                            name=op.f("uq_circle_blocks_patient_id")),
    )
    with op.batch_alter_table("circle_blocks", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_circle_blocks_patient_id"), ["patient_id"])
        batch_op.create_index(batch_op.f("ix_circle_blocks_professional_id"), ["professional_id"])

    op.create_table(
        "circle_invitations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("code_hash", sa.String(length=64), nullable=False),
        sa.Column("label", sa.String(length=120), nullable=False),
        sa.Column("scopes", sa.String(length=80), nullable=False),
        sa.Column("grant_ends_at", sa.DateTime(), nullable=True),
        sa.Column("created_at", sa.DateTime(), server_default=sa.func.now(), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=False),
        sa.Column("used_at", sa.DateTime(), nullable=True),
        sa.Column("used_by_id", sa.Integer(), nullable=True),
        sa.Column("cancelled_at", sa.DateTime(), nullable=True),
        _users_fk("circle_invitations", "patient_id"),
        _users_fk("circle_invitations", "used_by_id", ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_circle_invitations")),
        sa.UniqueConstraint("code_hash", name=op.f("uq_circle_invitations_code_hash")),
    )
    with op.batch_alter_table("circle_invitations", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_circle_invitations_patient_id"), ["patient_id"])

    op.create_table(
        "circle_requests",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("professional_id", sa.Integer(), nullable=False),
        sa.Column("scopes", sa.String(length=80), nullable=False),
        sa.Column("note", sa.String(length=500), nullable=True),
        sa.Column("created_at", sa.DateTime(), server_default=sa.func.now(), nullable=False),
        sa.Column("decided_at", sa.DateTime(), nullable=True),
        sa.Column("accepted", sa.Boolean(), nullable=True),
        _users_fk("circle_requests", "patient_id"),
        _users_fk("circle_requests", "professional_id"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_circle_requests")),
    )
    with op.batch_alter_table("circle_requests", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_circle_requests_patient_id"), ["patient_id"])
        batch_op.create_index(batch_op.f("ix_circle_requests_professional_id"),
                              ["professional_id"])

    op.create_table(
        "circle_emergency_accesses",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("professional_id", sa.Integer(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("started_at", sa.DateTime(), nullable=False),
        sa.Column("ends_at", sa.DateTime(), nullable=False),
        sa.Column("expiry_signalled_at", sa.DateTime(), nullable=True),
        _users_fk("circle_emergency_accesses", "patient_id"),
        _users_fk("circle_emergency_accesses", "professional_id"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_circle_emergency_accesses")),
    )
    with op.batch_alter_table("circle_emergency_accesses", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_circle_emergency_accesses_patient_id"),
                              ["patient_id"])
        batch_op.create_index(batch_op.f("ix_circle_emergency_accesses_professional_id"),
                              ["professional_id"])

    op.create_table(
        "circle_settings",
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("emergency_access_allowed", sa.Boolean(), nullable=False),
        _users_fk("circle_settings", "patient_id"),
        sa.PrimaryKeyConstraint("patient_id", name=op.f("pk_circle_settings")),
    )

    op.create_table(
        "circle_notices",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=30), nullable=False),
        sa.Column("text", sa.String(length=500), nullable=False),
        sa.Column("url", sa.String(length=200), nullable=True),
        sa.Column("created_at", sa.DateTime(), server_default=sa.func.now(), nullable=False),
        sa.Column("read_at", sa.DateTime(), nullable=True),
        _users_fk("circle_notices", "user_id"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_circle_notices")),
    )
    with op.batch_alter_table("circle_notices", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_circle_notices_user_id"), ["user_id"])

    op.create_table(
        "access_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("actor_id", sa.Integer(), nullable=True),
        sa.Column("actor_name", sa.String(length=120), nullable=False),
        sa.Column("acting_as", sa.String(length=20), nullable=False),
        sa.Column("on_behalf_of_id", sa.Integer(), nullable=True),
        sa.Column("action", sa.String(length=30), nullable=False),
        sa.Column("object_type", sa.String(length=40), nullable=False),
        sa.Column("object_id", sa.String(length=64), nullable=True),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("device", sa.String(length=10), nullable=False),
        sa.Column("emergency", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(), server_default=sa.func.now(), nullable=False),
        _users_fk("access_events", "actor_id", ondelete="SET NULL"),
        _users_fk("access_events", "on_behalf_of_id", ondelete="SET NULL"),
        _users_fk("access_events", "patient_id"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_access_events")),
    )
    with op.batch_alter_table("access_events", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_access_events_actor_id"), ["actor_id"])
        batch_op.create_index(batch_op.f("ix_access_events_kind"), ["kind"])
        batch_op.create_index("ix_access_events_patient_at", ["patient_id", "at", "id"])


def downgrade():
    with op.batch_alter_table("access_events", schema=None) as batch_op:
        batch_op.drop_index("ix_access_events_patient_at")
        batch_op.drop_index(batch_op.f("ix_access_events_kind"))
        batch_op.drop_index(batch_op.f("ix_access_events_actor_id"))
    op.drop_table("access_events")
    with op.batch_alter_table("circle_notices", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_circle_notices_user_id"))
    op.drop_table("circle_notices")
    op.drop_table("circle_settings")
    with op.batch_alter_table("circle_emergency_accesses", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_circle_emergency_accesses_professional_id"))
        batch_op.drop_index(batch_op.f("ix_circle_emergency_accesses_patient_id"))
    op.drop_table("circle_emergency_accesses")
    with op.batch_alter_table("circle_requests", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_circle_requests_professional_id"))
        batch_op.drop_index(batch_op.f("ix_circle_requests_patient_id"))
    op.drop_table("circle_requests")
    with op.batch_alter_table("circle_invitations", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_circle_invitations_patient_id"))
    op.drop_table("circle_invitations")
    with op.batch_alter_table("circle_blocks", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_circle_blocks_professional_id"))
        batch_op.drop_index(batch_op.f("ix_circle_blocks_patient_id"))
    op.drop_table("circle_blocks")
    with op.batch_alter_table("circle_grants", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_circle_grants_patient_id"))
        batch_op.drop_index(batch_op.f("ix_circle_grants_grantee_id"))
    op.drop_table("circle_grants")
