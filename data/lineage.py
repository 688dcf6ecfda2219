"""How a 2024 QPV relates to the 2015 geography, read cautiously.

Two sources say whether a QPV changed in 2024: the last letter of its code (N new, M modified,
I unchanged, C overseas commune-based) and the status given by ANCT's correspondence file. They
disagree for a few QPVs (QN01325M, Orgon, is « INCHANGE » in the file but its code says
modified). A QPV counts as unchanged, and its 2015 figures as describing its exact perimeter,
only when both say so. Used by the ETL (which perimeter carried values get) and by the pages
(what the Fiche says); kept here because the data layer must not import the ETL."""
from __future__ import annotations

STATUT_LETTERS = {"inchange": "I", "modifie": "M", "nouveau": "N", "commune": "C"}
LETTER_STATUTS = {v: k for k, v in STATUT_LETTERS.items()}
STATUT_WORDS = {"inchange": "inchangé", "modifie": "modifié", "nouveau": "nouveau", "commune": "commune"}


def letter_statut(code: str) -> str | None:
    """The status the code's last letter says (None for a code without a known letter)."""
    return LETTER_STATUTS.get(str(code or "")[-1:].upper())


def status_conflict(code: str, statut: str) -> str | None:
    """A sentence when the correspondence's status and the code's letter disagree, else None."""
    by_letter = letter_statut(code)
    if by_letter is None or by_letter == statut:
        return None
    return (f"la correspondance ANCT dit « {STATUT_WORDS.get(statut, statut)} », mais la lettre finale du code "
            f"{code} dit « {STATUT_WORDS[by_letter]} »")


def unchanged(code: str, statut: str) -> bool:
    """True only when the status and the code's letter both say the QPV is unchanged since 2015."""
    return statut == "inchange" and letter_statut(code) == "inchange"
