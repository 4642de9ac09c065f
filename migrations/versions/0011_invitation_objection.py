"""accounts: the person invited to open a patient's space can object to it

invitations.objected_at: when the invited person refused the space (the code then works no
more, and a new patient code for the same email asks the administrator to confirm that the
person has asked for a space since).

Revision ID: 0011
Revises: 0010
"""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("invitations", schema=None) as batch_op:
        batch_op.add_column(sa.Column("objected_at", sa.DateTime(), nullable=True))


def downgrade():
    with op.batch_alter_table("invitations", schema=None) as batch_op:
        batch_op.drop_column("objected_at")
