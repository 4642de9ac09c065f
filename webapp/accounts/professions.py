"""Health professions: a fixed list stored as codes, shown in the reader's language.

`users.profession` and `invitations.profession` hold a code of PROFESSIONS. Rows written before
the list existed were mapped to codes by migration 0009 when their words were known (English or
French); any other text was kept as it was typed, and is shown as it is (`label` returns it
unchanged) rather than as a vague "other" that would lose what it said. Every new value must be
a code (or a word `normalise` knows, which it turns into one).
"""

from __future__ import annotations

import re
import unicodedata

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from ..errors import UserError

OTHER = "other"

# In the order of no importance: the select sorts them by name in the reader's language.
PROFESSIONS = {
    "nurse": _l("Nurse"),
    "general_practitioner": _l("General practitioner"),
    "specialist_physician": _l("Specialist physician"),
    "pharmacist": _l("Pharmacist"),
    "physiotherapist": _l("Physiotherapist"),
    "midwife": _l("Midwife"),
    "care_assistant": _l("Care assistant"),
    "dentist": _l("Dentist"),
    "speech_therapist": _l("Speech therapist"),
    "occupational_therapist": _l("Occupational therapist"),
    "psychologist": _l("Psychologist"),
    "dietitian": _l("Dietitian"),
    "podiatrist": _l("Podiatrist"),
    OTHER: _l("Other health professional"),
}

# Words people typed for each profession, English and French, as `_key` folds them (no
# accents, no case, punctuation as spaces). Migration 0009 holds a frozen copy of this table.
SYNONYMS = {
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
    OTHER: ("other", "other health professional", "autre", "autre professionnel de sante"),
}


def _key(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text or "")
    plain = "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()
    return " ".join(re.sub(r"[^a-z0-9]+", " ", plain).split())


_BY_WORD = {_key(code): code for code in PROFESSIONS}
_BY_WORD.update({word: code for code, words in SYNONYMS.items() for word in words})


def code_for(text: str | None) -> str | None:
    """The code these words name (a code itself, or an English or French name), else None."""
    return _BY_WORD.get(_key(text or "")) if text else None


def normalise(value: str | None) -> str:
    """The code for a profession chosen from the list; a clear refusal for anything else."""
    code = code_for(value)
    if code is None:
        raise UserError(_("Please choose a profession from the list."), field="profession")
    return code


def label(value: str | None) -> str:
    """What to show for a stored profession: its name in the reader's language for a code;
    text kept from before the list, as it was typed; nothing for no profession."""
    if not value:
        return ""
    name = PROFESSIONS.get(value)
    return str(name) if name is not None else value


def _sort_key(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()


def choices() -> list[tuple[str, str]]:
    """(code, name) for a select, by name in the reader's language, "other" last."""
    named = [(code, str(name)) for code, name in PROFESSIONS.items() if code != OTHER]
    named.sort(key=lambda pair: _sort_key(pair[1]))
    return [*named, (OTHER, str(PROFESSIONS[OTHER]))]


def matching_codes(word: str) -> list[str]:
    """Codes whose name (in the reader's language or in English) or known words contain
    `word`: lets a search for "infirm" or "nurse" find professionals stored as "nurse"."""
    needle = _key(word)
    if not needle:
        return []
    found = []
    for code, name in PROFESSIONS.items():
        names = {_key(str(name)), _key(code), *SYNONYMS.get(code, ())}
        if any(needle in n for n in names):
            found.append(code)
    return found
