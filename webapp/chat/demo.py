"""Demo conversation for `flask demo seed` (idempotent): Jeanne, her daughter Claire and her
nurse Nadia talk about the dressing; Dr Lefèvre and Nadia have a professional thread."""

from __future__ import annotations

from sqlalchemy import select

from ..accounts.models import User
from ..extensions import db

DEMO = "@demo.healthspace.test"


def seed() -> None:
    from ..errors import UserError
    from . import services
    from .models import Conversation

    people = {
        u.email.split("@")[0]: u
        for u in db.session.scalars(select(User).where(User.email.like(f"%{DEMO}")))
    }
    jeanne, claire, nadia, paul = (
        people.get(k) for k in ("jeanne", "claire", "nadia", "dr.lefevre")
    )
    if not all((jeanne, claire, nadia, paul)):
        return
    if db.session.scalar(select(Conversation.id).where(Conversation.patient_id == jeanne.id)):
        return
    try:  # needs the care circle's demo grants (messages scope for Claire and Nadia)
        care = services.start_conversation(
            nadia, patient=jeanne, member_ids=[claire.id], subject="Pansement de la jambe"
        )
    except UserError:
        db.session.rollback()
        return
    for author, text in (
        (nadia, "Bonjour Jeanne, je passe demain à 9h pour le pansement."),
        (claire, "Merci Nadia, je serai là aussi. Maman a un peu mal ce soir."),
        (nadia, "D'accord, je regarderai. Si la douleur augmente, appelez le 15."),
    ):
        services.post_message(author, care, text, services_client_id())
    pro = services.start_conversation(
        paul, patient=None, member_ids=[nadia.id], subject="Relais de soins"
    )
    services.post_message(
        paul, pro, "Pouvez-vous me tenir au courant de la cicatrisation ?", services_client_id()
    )


def services_client_id() -> str:
    import secrets

    return "demo-" + secrets.token_hex(10)
