"""The import templates of docs/modeles (CSV, XLSX with help, an example export and its mapping)."""
from __future__ import annotations

import csv
import io
import os
import re
import tomllib
import zipfile
from pathlib import Path

from ..config import TAXONOMY_FILE
from ..safe_export import (
    safe_xlsx_cell,
    write_safe_csv,
)
from .spec import COLUMNS, KIND_FR, KINDS, _col_letter

EXAMPLE_ROWS: dict[str, list[list[str]]] = {
    "schemes": [
        ["ASV-96-001", "ASV", "Atelier santé ville de Bourg-Fictif (exemple)", "Mairie de Bourg-Fictif", "2008",
         "actif", "96003", "QN09601M|QN09602I", "https://asv-bourg-fictif.example.org"],
        ["CLS-96-001", "CLS", "Contrat local de santé du Pays de Bourg-Fictif (exemple)",
         "Communauté de communes du Pays de Bourg-Fictif", "2019", "actif", "96003|96009", "", ""],
        ["CLSM-96-001", "CLSM", "Conseil local de santé mentale de Bourg-Fictif (exemple)", "CCAS de Bourg-Fictif",
         "2021", "en projet", "96003", "", ""],
    ],
    "actions": [
        ["ACT-2024-001", "Ateliers cuisine à petit budget",
         "Six ateliers collectifs au centre social, avec une diététicienne.", "2024", "2025",
         "Centre social des Licornes", "nutrition|Éducation pour la santé", "precarite|Parentalité",
         "QN09601M", "", "", "", "", "ASV-96-001", "ARS|Ville de Bourg-Fictif"],
        ["ACT-2024-002", "Permanence d'accès aux droits santé",
         "Accueil sans rendez-vous pour l'ouverture des droits (C2S, AME).", "01/09/2023", "",
         "CCAS de Bourg-Fictif", "Accès aux droits et aux soins", "Personnes isolées|precarite",
         "QP096002", "", "", "", "", "ASV-96-001", "CPAM"],
        ["ACT-2024-003", "Parcours sport-santé au parc des Chimères", "", "2024", "",
         "Association Cœur Vaillant", "activite_physique", "vieillissement", "", "", "-6,7917", "45,9014", "",
         "CLS-96-001", ""],
        ["ACT-2024-004", "Semaine d'information sur la santé mentale", "Ciné-débat et stands.", "2024", "2024",
         "CLSM de Bourg-Fictif", "sante mentale|SISM", "Enfants et jeunes", "", "96009", "", "",
         "1 place de la Mairie, Fictif-la-Rivière", "CLSM-96-001", "Ville"],
    ],
}


TEMPLATE_NAMES = {"schemes": "modele_dispositifs", "actions": "modele_actions"}


# An export in another layout (column names in the style of a regional action-tracking
# tool such as OSCARS; invented content) and the mapping file that imports it.
EXAMPLE_EXPORT_HEADER = ["N° de l'action", "Intitulé", "Résumé", "Date de début", "Date de fin",
                         "Structure porteuse", "Thème", "Sous-thème", "Public(s)", "Code INSEE",
                         "Quartier prioritaire (code)", "Adresse", "Code postal", "Ville", "Financeur(s)", "Contact"]


EXAMPLE_EXPORT_ROWS = [
    ["OSC-1201", "Marche santé du mardi", "Marche encadrée d'une heure.", "15/03/2024", "", "Maison des Licornes",
     "Sport santé", "", "Seniors ; Personnes isolées", "96003", "QN09601M", "", "", "", "Ville", "accueil@example.org"],
    ["OSC-1202", "Ateliers « bien manger »", "", "2023", "2024", "Centre social des Chimères", "Alimentation",
     "Éducation pour la santé", "Tout public", "96009", "", "", "", "", "ARS ; CAF", ""],
    ["OSC-1203", "Point écoute jeunes", "Permanence d'une psychologue.", "01/10/2024", "", "Association Écoute Fictive",
     "Bien-être psychique", "", "Jeunes 12-25 ans", "96009", "", "3 rue des Fées", "96090", "Fictif-la-Rivière",
     "ARS", ""],
]


EXAMPLE_MAPPING = """\
# Correspondance des colonnes : export de type OSCARS -> modèle d'actions Atlas ASV.
# Usage : python -m etl import actions export_oscars.csv --mapping correspondance_oscars.toml

[fichier]
# feuille = "Actions"          # pour un classeur XLSX : feuille à lire (sinon détectée)

[colonnes]
# colonne du modèle = "colonne de votre fichier" (ou une liste : les cellules sont réunies)
id_action = "N° de l'action"
titre = "Intitulé"
description = "Résumé"
annee_debut = "Date de début"
annee_fin = "Date de fin"
porteur = "Structure porteuse"
thematiques = ["Thème", "Sous-thème"]
publics = "Public(s)"
commune = "Code INSEE"
qpv = "Quartier prioritaire (code)"
adresse = ["Adresse", "Code postal", "Ville"]
financeurs = "Financeur(s)"

[listes]
separateur = ";"                # séparateur des valeurs multiples dans vos cellules (en plus de |)

[valeurs.thematiques]
# valeur de votre fichier = identifiant (ou libellé) de la nomenclature ASV
"Alimentation" = "nutrition"
"Sport santé" = "activite_physique"
"Accès aux soins" = "acces_droits_soins"
"Bien-être psychique" = "sante_mentale"

[valeurs.publics]
"Tout public" = ""              # chaîne vide : valeur ignorée
"Jeunes 12-25 ans" = "enfants_jeunes"
"Seniors" = "vieillissement"
"""


def _save_reproducible(wb, path: Path) -> None:
    """Save a workbook byte-for-byte reproducibly (fixed dates in the properties and the
    zip entries), so that regenerating the templates does not change them."""
    buf = io.BytesIO()
    wb.save(buf)
    fixed = "2024-01-01T00:00:00Z"
    with zipfile.ZipFile(buf) as src, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as out:
        for info in src.infolist():
            data = src.read(info.filename)
            if info.filename == "docProps/core.xml":
                data = re.sub(rb"(<dcterms:(?:created|modified)[^>]*>)[^<]*", rb"\g<1>" + fixed.encode(), data)
            out.writestr(zipfile.ZipInfo(info.filename, date_time=(2024, 1, 1, 0, 0, 0)), data,
                         compress_type=zipfile.ZIP_DEFLATED)


def write_templates(dest: str | os.PathLike) -> list[Path]:
    """Write the CSV and XLSX templates (with filled example rows) into `dest`."""
    import openpyxl
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.worksheet.datavalidation import DataValidation


    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    tax = tomllib.loads(TAXONOMY_FILE.read_text(encoding="utf-8"))
    written = []
    for kind in KINDS:
        header = [c.name for c in COLUMNS[kind]]
        csv_path = dest / f"{TEMPLATE_NAMES[kind]}.csv"
        write_safe_csv(csv_path, header, EXAMPLE_ROWS[kind])
        written.append(csv_path)

        wb = openpyxl.Workbook()
        ws = wb.active
        ws.title = KIND_FR[kind]
        bold = Font(bold=True)
        fill = PatternFill("solid", fgColor="DDE7F0")
        for j, h in enumerate(header, start=1):
            c = ws.cell(1, j, h)
            c.font, c.fill = bold, fill
            ws.column_dimensions[_col_letter(j - 1)].width = max(14, min(40, len(h) + 8))
        for i, row in enumerate(EXAMPLE_ROWS[kind], start=2):
            for j, v in enumerate(row, start=1):
                safe_xlsx_cell(ws.cell(i, j), v)
        ws.freeze_panes = "A2"
        if kind == "schemes":
            for col, values in (("type", "ASV,CLS,CLSM,CPTS"), ("statut", "actif,en projet,terminé")):
                letter = _col_letter(header.index(col))
                dv = DataValidation(type="list", formula1=f'"{values}"', allow_blank=True)
                ws.add_data_validation(dv)
                dv.add(f"{letter}2:{letter}5000")
        help_ws = wb.create_sheet("aide")
        help_ws.append(["colonne", "obligatoire", "description", "exemple"])
        for c in help_ws[1]:
            c.font, c.fill = bold, fill
        for j, spec in enumerate(COLUMNS[kind]):
            help_ws.append([spec.name, "oui" if spec.required else "non", spec.help, EXAMPLE_ROWS[kind][0][j]])
        for letter, width in (("A", 18), ("B", 12), ("C", 90), ("D", 40)):
            help_ws.column_dimensions[letter].width = width
        for row in help_ws.iter_rows(min_row=2):
            row[2].alignment = Alignment(wrap_text=True, vertical="top")
        if kind == "actions":
            vals = wb.create_sheet("valeurs")
            vals.append(["thématique (identifiant)", "libellé", "axe", "", "public (identifiant)", "libellé"])
            for c in vals[1]:
                c.font = bold
            theme_rows = []
            for axis in tax["theme"]:
                theme_rows.append([axis["id"], axis["label"], ""])
                theme_rows.extend([cid, label, axis["label"]] for cid, label in axis.get("children", []))
            pubs = tax["publics"]["items"]
            for i in range(max(len(theme_rows), len(pubs))):
                t = theme_rows[i] if i < len(theme_rows) else ["", "", ""]
                p = pubs[i] if i < len(pubs) else ["", ""]
                vals.append(t + [""] + list(p))
            for letter, width in (("A", 26), ("B", 50), ("C", 36), ("E", 24), ("F", 46)):
                vals.column_dimensions[letter].width = width
        wb.properties.creator = "Atlas ASV"
        xlsx_path = dest / f"{TEMPLATE_NAMES[kind]}.xlsx"
        _save_reproducible(wb, xlsx_path)
        written.append(xlsx_path)
    export = dest / "exemple_export_oscars.csv"
    with open(export, "w", encoding="utf-8", newline="") as f:
        f.write("Export des actions – extraction du 02/12/2024\r\n")   # a title line above the header
        w = csv.writer(f, delimiter=",", lineterminator="\r\n")
        w.writerow(EXAMPLE_EXPORT_HEADER)
        w.writerows(EXAMPLE_EXPORT_ROWS)
    mapping = dest / "correspondance_oscars.toml"
    mapping.write_text(EXAMPLE_MAPPING, encoding="utf-8")
    return written + [export, mapping]
