"""accounts: professions become codes of a fixed list, shown in the reader's language

users.profession and invitations.profession held free text ("Nurse", "Infirmière"). Known
English and French words become the list's codes (webapp/accounts/professions.py); any other
text is kept exactly as typed and is still shown as it is, rather than turned into a vague
"other" that would lose what it said. No schema change: the column holds a code when the words
were known, the old text otherwise.

The word table below is a frozen copy (a migration must not change when the app's list does).

Revision ID: 0009
Revises: 0008
"""

import re
import unicodedata

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

WORDS = {
    "nurse": ("nurse", "registered nurse", "home nurse", "infirmier", "infirmiere",
              "infirmier ere", "infirmier e", "ide", "infirmier diplome d etat"),
    "general_practitioner": ("general practitioner", "gp", "doctor", "family doctor",
                             "physician", "medecin", "medecin generaliste", "generaliste",
                             "medecin traitant", "docteur"),
    "specialist_physician": ("specialist physician", "specialist", "specialist doctor",
                             "medecin specialiste", "specialiste"),
    "pharmacist": ("pharmacist", "pharmacien", "pharmacienne", "pharmacien ne"),
    "physiotherapist": ("physiotherapist", "physical therapist", "physio", "kinesitherapeute",
                        "masseur kinesitherapeute", "kine"),
    "midwife": ("midwife", "sage femme", "maieuticien", "maieuticienne"),
    "care_assistant": ("care assistant", "nursing assistant", "healthcare assistant",
                       "health care assistant", "aide soignant", "aide soignante",
                       "aide soignant e"),
    "dentist": ("dentist", "dental surgeon", "dentiste", "chirurgien dentiste"),
    "speech_therapist": ("speech therapist", "speech and language therapist", "orthophoniste"),
    "occupational_therapist": ("occupational therapist", "ergotherapeute"),
    "psychologist": ("psychologist", "psychologue"),
    "dietitian": ("dietitian", "dietician", "dieteticien", "dieteticienne"),
    "podiatrist": ("podiatrist", "chiropodist", "podologue", "pedicure podologue"),
    "other": ("other", "other health professional", "autre", "autre professionnel de sante"),
}

# For a downgrade: the English name each code had in the list.
ENGLISH = {
    "nurse": "Nurse", "general_practitioner": "General practitioner",
    "specialist_physician": "Specialist physician", "pharmacist": "Pharmacist",
    "physiotherapist": "Physiotherapist", "midwife": "Midwife",
    "care_assistant": "Care assistant", "dentist": "Dentist",
    "speech_therapist": "Speech therapist", "occupational_therapist": "Occupational therapist",
    "psychologist": "Psychologist", "dietitian": "Dietitian", "podiatrist": "Podiatrist",
    "other": "Other health professional",
}

TABLES = ("users", "invitations")


def _key(text):
    decomposed = unicodedata.normalize("NFKD", text or "")
    plain = "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()
    return " ".join(re.sub(r"[^a-z0-9]+", " ", plain).split())


BY_WORD = {_key(code): code for code in WORDS}
BY_WORD.update({word: code for code, words in WORDS.items() for word in words})


def _rewrite(change):
    bind = op.get_bind()
    for name in TABLES:
        table = sa.table(name, sa.column("id", sa.Integer), sa.column("profession", sa.String))
        rows = bind.execute(sa.select(table.c.id, table.c.profession)
                            .where(table.c.profession.is_not(None))).all()
        for row_id, profession in rows:
            new = change(profession)
            if new != profession:
                bind.execute(table.update().where(table.c.id == row_id)
                             .values(profession=new))


def upgrade():
    _rewrite(lambda text: BY_WORD.get(_key(text), text))


def downgrade():
    _rewrite(lambda value: ENGLISH.get(value, value))
