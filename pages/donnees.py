"""Données: every source (publisher, licence, vintage, geography), the ETL report and
CSV/XLSX downloads of the tables shown in the app."""
from __future__ import annotations

import dash
import pandas as pd
from dash import Input, Output, callback, dcc, html

from components.tables import data_table
from data import access
from data.provenance import vintage_text

dash.register_page(__name__, path="/donnees", name="Données", title="Atlas ASV — Données", order=7)

KIND_LABELS = {"rejected": "Ligne rejetée", "repaired": "Géométrie réparée", "unlinked": "Code non rattaché",
               "out_of_scope": "Hors du territoire chargé", "warning": "Avertissement"}


def sources_frame() -> pd.DataFrame:
    src = access.sources()
    return pd.DataFrame({
        "Source": src.title, "Producteur": src.publisher,
        "Millésime": src.vintage.map(lambda v: vintage_text(v).removeprefix("millésime ")),
        "Géographie": src.geography, "Licence": src.licence, "Fichier": src.file_name,
        "Récupéré le": src.retrieved_at, "Valeurs": src.n_values, "Adresse": src.url,
    })


def issues_frame(kind: str | None = None) -> pd.DataFrame:
    df = access.load_issues(kind)
    return pd.DataFrame({"Nature": df.kind.map(KIND_LABELS).fillna(df.kind), "Fichier": df.file,
                         "Ligne ou entité": df.line, "Champ": df.field, "Valeur": df.value, "Motif": df.reason})


def catalogue_frame() -> pd.DataFrame:
    ind = access.indicators()
    sens = ind.high_is_bad.map({True: "élevé = défavorable", False: "élevé = favorable"}).fillna("neutre")
    return pd.DataFrame({"Identifiant": ind.indicator_id, "Indicateur": ind.label, "Unité": ind.unit,
                         "Famille": ind.family, "Sens": sens, "Définition": ind.definition,
                         "Millésimes": ind.years.map(lambda y: ", ".join(map(str, y)) if y is not None else "")})


IMPORT_COLUMNS = {"import_id": "N° d'import", "kind": "Type", "file_name": "Fichier", "imported_at": "Importé le",
                  "n_rows": "Lignes", "n_inserted": "Ajoutées", "n_updated": "Mises à jour",
                  "n_unchanged": "Inchangées", "n_rejected": "Refusées", "mode": "Mode", "sha256": "Empreinte SHA-256"}
IMPORT_WORDS = {"actions": "actions", "schemes": "dispositifs", "all-or-nothing": "tout ou rien",
                "quarantine": "lignes invalides mises de côté"}


def imports_frame() -> pd.DataFrame:
    """The import log with French column names and words, in a reading order."""
    log = access.import_log()
    out = log[[c for c in IMPORT_COLUMNS if c in log]].copy()
    for col in ("kind", "mode"):
        if col in out:
            out[col] = out[col].map(lambda v: IMPORT_WORDS.get(v, v))
    if "sha256" in out:
        out["sha256"] = out["sha256"].map(lambda v: f"{v[:12]}…" if isinstance(v, str) else v)
    return out.rename(columns=IMPORT_COLUMNS)


def layout(**_):
    meta = access.meta()
    issues = access.load_issues()
    counts = issues.kind.value_counts().to_dict() if len(issues) else {}
    summary = ", ".join(f"{KIND_LABELS.get(k, k).lower()} : {n}" for k, n in counts.items()) or "aucun"
    imports = imports_frame()
    fictional = meta.get("fictional") == "true"
    return html.Div([
        html.H1("Données, sources et millésimes"),
        html.P("Toutes les données réelles sont des données publiques ouvertes (Licence Ouverte / Etalab 2.0). "
               "Chaque chiffre affiché dans l'atlas garde sa source, son millésime et sa version de géographie.",
               className="lead"),
        html.P("Jeu de démonstration : toutes ces sources sont fictives, au format des fichiers officiels.",
               className="note") if fictional else None,
        html.H2("Deux années par chiffre"),
        html.P("Le millésime de diffusion est l'année du fichier publié (REVN_2022 : millésime 2022) ; l'année "
               "décrite est celle que mesurent ses chiffres. L'atlas n'affiche une année décrite que lorsque la "
               "documentation du producteur la donne (Filosofi 2019 : revenus de 2019) ; sinon il écrit "
               "« millésime de diffusion 2022 ». Un millésime qui reprend à l'identique les chiffres du précédent "
               "est signalé au chargement et n'est montré qu'une fois dans les évolutions.", id="two-years"),
        html.H2("Sources"),
        data_table("sources-table", sources_frame(), filename="sources", page_size=20),
        html.H2("Catalogue des indicateurs"),
        data_table("catalogue-table", catalogue_frame(), filename="catalogue_indicateurs", page_size=25),
        html.H2("Rapport de chargement"),
        html.P([f"Base construite le {meta.get('built_at', 'n.d.')}. Signalements : {summary}."],
               id="etl-summary"),
        html.Div([
            html.Label("Nature", htmlFor="issues-kind"),
            dcc.Dropdown(id="issues-kind", clearable=True, placeholder="Toutes",
                         options=[{"label": KIND_LABELS.get(k, k), "value": k} for k in counts]),
        ], className="control", style={"maxWidth": "320px"}),
        html.Div(data_table("issues-table", issues_frame(), filename="rapport_chargement"), id="issues-wrap"),
        html.H2("Imports d'actions et de dispositifs"),
        data_table("imports-table", imports, filename="imports") if len(imports)
        else html.P("Aucun import enregistré.", className="muted"),
    ])


@callback(Output("issues-wrap", "children"), Input("issues-kind", "value"), prevent_initial_call=True)
def filter_issues(kind):
    return data_table("issues-table", issues_frame(kind), filename="rapport_chargement")
