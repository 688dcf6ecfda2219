"""Données: every source (publisher, licence, vintage, geography), the ETL report and
CSV/XLSX downloads of the tables shown in the app."""
from __future__ import annotations

import dash
import pandas as pd
from dash import Input, Output, callback, dcc, html

from components import guard
from components.tables import data_table
from data import access
from data.views import comparables, intervals
from data.provenance import vintage_text

dash.register_page(__name__, path="/donnees", name="Données", title="Atlas ASV — Données", order=7)

KIND_LABELS = {"rejected": "Ligne rejetée", "repaired": "Géométrie réparée", "unlinked": "Code non rattaché",
               "out_of_scope": "Hors du territoire chargé", "warning": "Avertissement"}


def sources_frame() -> pd.DataFrame:
    src = access.sources()
    dated = evidence_by_source()
    basis = [b if isinstance(b, str) and b else dated.get(sid, "non connue : « millésime de diffusion » affiché")
             for sid, b in zip(src.source_id, src.ref_year_basis)]
    return pd.DataFrame({
        "Source": src.title, "Producteur": src.publisher,
        "Millésime": src.vintage.map(lambda v: vintage_text(v).removeprefix("millésime ")),
        "Année décrite établie par": basis,
        "Géographie": src.geography, "Licence": src.licence, "Fichier": src.file_name,
        "Récupéré le": src.retrieved_at, "Valeurs": src.n_values, "Adresse": src.url,
    })


def evidence_by_source() -> dict[str, str]:
    """source_id -> how the year its dated columns describe was established (comparison of files)."""
    ev = access.year_evidence()
    out: dict[str, list[str]] = {}
    for r in ev.itertuples():
        out.setdefault(r.source_id, []).append(f"{r.column_name} : {r.ref_year}")
    return {sid: "comparaison avec le fichier Filosofi des QPV (" + ", ".join(cols) + ") ; autres colonnes : "
            "non connue" for sid, cols in out.items()}


def evidence_frame() -> pd.DataFrame:
    ev = access.year_evidence()
    return pd.DataFrame({
        "Fichier daté": ev.file_name, "Colonne": ev.column_name, "Indicateur": ev.indicator_id,
        "Année décrite établie": ev.ref_year, "Fichier qui la date": ev.evidence_file,
        "Sa colonne": ev.evidence_column, "QPV comparés": ev.n_compared, "Valeurs identiques": ev.n_matching,
        "Valeurs gardées une fois": ev.n_dropped})


def issues_frame(kind: str | None = None) -> pd.DataFrame:
    df = access.load_issues(kind)
    return pd.DataFrame({"Nature": df.kind.map(KIND_LABELS).fillna(df.kind), "Fichier": df.file,
                         "Ligne ou entité": df.line, "Champ": df.field, "Valeur": df.value, "Motif": df.reason})


def catalogue_frame() -> pd.DataFrame:
    ind = access.indicators()
    sens = ind.high_is_bad.map({True: "élevé = défavorable", False: "faible = défavorable"}).fillna(
        "aucun jugement (ni favorable ni défavorable)")
    labels = {i: access.year_labels(i, "qpv") for i in ind.indicator_id}
    return pd.DataFrame({"Identifiant": ind.indicator_id, "Indicateur": ind.label, "Unité": ind.unit,
                         "Famille": ind.family, "Sens": sens, "Définition": ind.definition,
                         "Années (QPV)": [", ".join(labels[i][p] for p in sorted(labels[i], reverse=True))
                                          for i in ind.indicator_id],
                         "Niveaux avec valeurs": ind.levels_with_values.map(
                             lambda lv: ", ".join(lv) if lv is not None else ""),
                         "Intervalle de confiance": [interval_text(r) for r in ind.to_dict("records")]})


def interval_text(ind: dict) -> str:
    """How an indicator's values get a confidence interval: method, numerator, denominator, and
    an approximated denominator said as such (data/views/intervals.py)."""
    sp = intervals.spec(ind)
    if sp is None:
        return "aucun : indicateur sans effectifs (médiane, rapport, indice ou nombre)"
    text = f"{sp.method_text} ; numérateur : {sp.numerator} ; dénominateur : {sp.denominator}"
    if sp.denominator_note:
        text += f" ; {sp.denominator_note}"
    return text + " ; sans effectifs publiés : non calculable"


METHODS_TEXT = [
    "Intervalles de confiance à 95 % (ou 99,8 %) pour les valeurs dont l'effectif est connu : score de Wilson pour "
    "une proportion ; pour un taux d'événements rapporté à une population, limites exactes de Poisson sous 10 "
    "événements et méthode de Byar à partir de 10.",
    "Comparaison testée (règle de Fingertips, OHID) : « Similaire » quand la valeur de la référence est dans "
    "l'intervalle de confiance du territoire, sinon « Meilleur » ou « Moins bon » selon le sens de l'indicateur "
    "(« Plus haut » ou « Plus bas » quand il n'en a pas) ; « Non testé » sans intervalle, sans référence ou pour une "
    "valeur secrète. La référence elle-même est prise sans son incertitude.",
    "Limites : les données fiscales (Filosofi) et les fichiers de gestion (CAF, assurance maladie) sont exhaustifs : "
    "l'intervalle y mesure la variation aléatoire du phénomène d'une année ou d'un quartier à l'autre, pas une erreur "
    "de sondage. Le recensement est une enquête par sondage (communes de 10 000 habitants ou plus) : ses effectifs "
    "sont des estimations, et l'intervalle de Wilson ne couvre pas l'erreur de sondage, il la sous-estime. "
    "Un dénominateur approché (population du quartier pour les personnes des ménages fiscaux) est signalé partout "
    "où l'intervalle s'affiche.",
]


IMPORT_COLUMNS = {"import_ref": "Référence de l'import", "kind": "Type", "file_name": "Fichier", "imported_at": "Importé le",
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
               "décrite est celle que mesurent ses chiffres. L'atlas n'affiche une année décrite que s'il la "
               "tient du producteur, jamais du seul nom d'un fichier :", id="two-years"),
        html.Ul([
            html.Li("la documentation du producteur, citée dans le catalogue de l'atlas (Filosofi 2019 : revenus de "
                    "2019 ; recensement 2019 : population au 1er janvier 2019) ;"),
            html.Li("les fichiers eux-mêmes : les fichiers Filosofi des quartiers prioritaires portent l'année dans "
                    "le nom de chaque colonne (DISP_TP60_A18 : taux de pauvreté, revenus de 2018) ;"),
            html.Li("la comparaison des fichiers : une colonne d'un tableau ONPV dont les valeurs (arrondies comme "
                    "dans les fichiers) sont celles d'une colonne Filosofi des quartiers de l'année A pour au moins "
                    "95 % des quartiers présents dans les deux (10 au moins) décrit l'année A ; le même chiffre n'est "
                    "alors gardé qu'une fois, attribué au fichier du producteur (tableau ci-dessous)."),
        ]),
        html.P("Sinon l'atlas écrit « millésime de diffusion 2022 ». Un millésime qui reprend à l'identique les "
               "chiffres du précédent est signalé au chargement et n'est montré qu'une fois dans les évolutions. "
               "Un écart compare un quartier à la référence de la même année décrite, sinon de l'année la plus "
               "proche avant, et dit les deux années."),
        html.H3("Colonnes datées par comparaison des fichiers"),
        data_table("evidence-table", evidence_frame(), filename="annees_etablies", page_size=20)
        if len(access.year_evidence()) else html.P("Aucune colonne datée par comparaison dans cette base.",
                                                    className="muted", id="evidence-none"),
        html.H3("Registres des dispositifs et des actions"),
        html.P(registry_text(), id="registry-summary"),
        html.H2("Sources"),
        data_table("sources-table", sources_frame(), filename="sources", page_size=20),
        html.H2("Catalogue des indicateurs"),
        data_table("catalogue-table", catalogue_frame(), filename="catalogue_indicateurs", page_size=25),
        html.H3("Intervalles de confiance, comparaisons testées, quartiers comparables", id="methods-title"),
        html.Ul([html.Li(t) for t in METHODS_TEXT] + [html.Li(comparables.METHOD_TEXT)], id="methods-list"),
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


def registry_text() -> str:
    """Where the registries are complete: outside, coverage and actions are unknown, never none."""
    parts = []
    for kind, label in (("schemes", "Registre des dispositifs"), ("actions", "Liste des actions")):
        state = access.registry_state(kind)
        n = len(access.registry_communes(kind))
        parts.append(f"{label} : " + {"absent": "non chargé ; partout, « non recensé », jamais « aucun »",
                                      "partial": f"chargé pour {n} commune(s) seulement ; ailleurs, « non recensé »",
                                      "complete": f"chargé pour tout le territoire ({n} communes)"}[state])
    return ". ".join(parts) + ". Chaque import dit le territoire où il est complet (déclaré, ou par défaut les " \
        "communes qu'il nomme)."


@callback(Output("issues-wrap", "children"), Input("issues-kind", "value"), prevent_initial_call=True)
def filter_issues(kind):
    return data_table("issues-table", issues_frame(guard.one(kind, KIND_LABELS)), filename="rapport_chargement")
