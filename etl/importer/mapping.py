"""Column mappings: files whose headers differ from the template (a TOML file, see docs/import.md)."""
from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import InputError
from .spec import SPEC, _kind, norm_label


@dataclass
class Mapping:
    """Column mapping for files whose headers differ from the template (TOML, see docs/import.md)."""
    columns: dict[str, list[str]] = field(default_factory=dict)   # template column -> source column(s)
    values: dict[str, dict[str, str]] = field(default_factory=dict)  # template column -> {norm(source value): value}
    sheet: str | None = None
    list_separator: str | None = None
    name: str = "correspondance"

    def translate(self, column: str, text: str) -> str:
        table = self.values.get(column)
        if not table:
            return text
        return table.get(norm_label(text), text)


def load_mapping(source: str | os.PathLike | dict, kind: str | None = None) -> Mapping:
    """Read a column-mapping TOML file (or an already parsed dict)."""
    name = "correspondance"
    if isinstance(source, dict):
        doc = source
    else:
        path = Path(source)
        name = path.name
        try:
            doc = tomllib.loads(path.read_text(encoding="utf-8-sig"))
        except FileNotFoundError:
            raise InputError(path, None, None, "fichier de correspondance introuvable") from None
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise InputError(path, None, None, f"fichier de correspondance illisible (TOML attendu) : {exc}") from None
    allowed = set(SPEC[_kind(kind)]) if kind else set(SPEC["schemes"]) | set(SPEC["actions"])
    unknown_sections = set(doc) - {"colonnes", "valeurs", "fichier", "listes"}
    if unknown_sections:
        raise InputError(name, None, None, f"section(s) inconnue(s) : {', '.join(sorted(unknown_sections))} "
                         "(sections possibles : colonnes, valeurs, fichier, listes)")
    m = Mapping(name=name)
    for col, src in (doc.get("colonnes") or {}).items():
        if col not in allowed:
            raise InputError(name, None, f"colonnes.{col}", "colonne du modèle inconnue ; colonnes possibles : "
                             + ", ".join(sorted(allowed)))
        srcs = [src] if isinstance(src, str) else src
        if not isinstance(srcs, list) or not srcs or not all(isinstance(s, str) and s.strip() for s in srcs):
            raise InputError(name, None, f"colonnes.{col}",
                             "valeur attendue : un nom de colonne, ou une liste de noms de colonnes", src)
        m.columns[col] = [s.strip() for s in srcs]
    for col, table in (doc.get("valeurs") or {}).items():
        if col not in allowed or not isinstance(table, dict):
            raise InputError(name, None, f"valeurs.{col}", "table de valeurs pour une colonne du modèle attendue")
        m.values[col] = {norm_label(k): str(v) for k, v in table.items()}
    fichier = doc.get("fichier") or {}
    m.sheet = fichier.get("feuille")
    m.list_separator = (doc.get("listes") or {}).get("separateur")
    return m
