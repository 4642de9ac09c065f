"""accounts: a patient can close their space, and reopen it by signing in again

users.closed_at: when the patient closed their own space (NULL: open). A closed space is also
an inactive account; an account made inactive any other way has no closing date and cannot be
reopened by its owner.

Revision ID: 0010
Revises: 0009
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(sa.Column("closed_at", sa.DateTime(), nullable=True))


def downgrade():
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_column("closed_at")
