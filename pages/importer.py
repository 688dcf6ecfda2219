"""Importer: load a file of actions or schemes (dispositifs) into the DB from the app.

Enabled only when ATLAS_ADMIN_TOKEN is set (components/admin.py); without it the page
explains how to enable it and the nav link is hidden. Steps: the admin token (checked
with hmac.compare_digest by every callback that reads or writes a file, not only by the
"Valider le jeton" button), the kind, an optional column-mapping file, the file itself
(dcc.Upload, size limited to the importer's MAX_FILE_MB), the validation report, the mode
(all-or-nothing or quarantine), then the confirmation.

The uploaded bytes do not stay in the browser: the validation callback writes them to
<DB folder>/imports/pending/<random id>/ and clears the Upload's contents; only the id and
a few counts go to a dcc.Store. Any gunicorn worker can then serve the confirmation, which
reads the file back from disk (never from a per-process dict). Pending folders are deleted
after the import and swept after PENDING_TTL seconds.

Confirm calls etl.importer.apply: under the writer lock (<db>.lock) the DB is copied,
the rows are written into the copy, and the copy replaces the DB (os.replace). The app
keeps reading read-only; data.access reopens the new file at the next request of every
worker, so the new actions show on the Actions and Couverture pages right away.
"""
from __future__ import annotations

import binascii
import hashlib
import json
import logging
import os
import re
import secrets
import shutil
import time
import tomllib
from pathlib import Path

import dash
import pandas as pd
from dash import Input, Output, State, callback, ctx, dcc, html, no_update
from dash.exceptions import PreventUpdate

from components import guard
from components.admin import TOKEN_ENV, import_enabled, token_ok
from components.import_pending import (PENDING_TTL, drop_pending, pending_file, pending_mapping,  # noqa: F401
                                       read_pending, save_pending, update_pending)
from components.scope import LEVEL_LABELS
from components.search_dropdown import register_search, search_dropdown
from components.tables import data_table
from data import access, memory
from data.analysis import fmt
from etl import importer
from etl.config import REPO_ROOT
from etl.dbswap import DatabaseBusy
from etl.errors import InputError

dash.register_page(__name__, path="/importer", name="Importer", title="Atlas ASV — Importer", order=20)

KINDS = {"actions": "Actions de santé", "schemes": "Dispositifs (ASV, CLS, CLSM, CPTS)"}
KIND_URL = {"actions": "actions", "schemes": "dispositifs"}     # ?type= in the URL
MODES = {"all": "Tout ou rien : une seule erreur et rien n'est chargé",
         "quarantine": "Quarantaine : charger les lignes valides, garder les lignes rejetées avec leur motif"}
MAX_SHOWN = 2000                # problems shown in the report table (the CLI report has them all)
MAX_VALUE_CHARS = 500
MAPPING_MAX_BYTES = 1024 * 1024
TEMPLATES_DIR = REPO_ROOT / "docs" / "modeles"
LOG = logging.getLogger(__name__)


def max_bytes() -> int:
    return importer.spec.MAX_FILE_MB * 1024 * 1024


def offline() -> bool:
    """ATLAS_IMPORT_OFFLINE=1: do not geocode addresses online (the BAN cache is still used)."""
    return os.environ.get("ATLAS_IMPORT_OFFLINE", "").strip() not in ("", "0")


GEOCODE_SECONDS = 20.0    # the page's own limit on geocoding per check or import (gunicorn's timeout is 120 s)


def geocoder() -> importer.Geocoder:
    """The BAN geocoder of one check or import from the page: at most GEOCODE_SECONDS of requests,
    the addresses left then listed as rows to locate."""
    return importer.Geocoder(offline=offline(), deadline=GEOCODE_SECONDS, timeout=GEOCODE_SECONDS)


# --- Pure helpers -------------------------------------------------------------------------

def parse_mapping(raw: bytes, name: str, kind: str) -> importer.Mapping:
    """A column-mapping TOML file as uploaded; InputError naming the file when it is wrong."""
    name = Path(str(name or "correspondance.toml")).name
    try:
        doc = tomllib.loads(raw.decode("utf-8-sig"))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise InputError(name, None, None, f"fichier de correspondance illisible (TOML attendu) : {exc}") from None
    try:
        m = importer.load_mapping(doc, kind)
    except InputError as exc:
        raise InputError(name, exc.line, exc.field, exc.reason, exc.value) from None
    m.name = name
    return m


def upload_bytes(contents: str) -> bytes:
    try:
        return importer.bytes_from_upload(contents)
    except (binascii.Error, ValueError, IndexError):
        raise InputError("fichier", None, None, "envoi illisible : choisissez le fichier à nouveau") from None


def store_data(pid: str | None, report: importer.ImportReport, mapping_name: str | None) -> dict:
    """What the browser keeps between validation and confirmation: an id and counts, no bytes."""
    return {"id": pid, "kind": report.kind, "file_name": report.file_name, "sha256": report.sha256,
            "fatal": report.fatal, "n_errors": len(report.errors), "n_rows": report.n_rows,
            "n_valid": report.n_valid if not report.fatal else 0, "n_rejected_rows": len(report.rejected_rows),
            "n_inserted": report.n_inserted, "n_updated": report.n_updated, "n_unchanged": report.n_unchanged,
            "mapping": mapping_name}


def confirm_hint(pending: dict | None, mode: str) -> tuple[bool, str]:
    """(confirm button disabled, explanation) for a validated file and a mode."""
    if not pending:
        return True, "Le bouton s'active quand un fichier envoyé et vérifié peut être importé."
    if pending.get("fatal") or not pending.get("id"):
        return True, "Ce fichier ne peut pas être importé : voir le rapport ci-dessus."
    n_err, n_valid = pending.get("n_errors", 0), pending.get("n_valid", 0)
    if n_err and mode != "quarantine":
        return True, (f"Mode tout ou rien : corrigez les {fmt(n_err, 0)} erreur(s) et renvoyez le fichier, "
                      f"ou choisissez la quarantaine pour charger les {fmt(n_valid, 0)} ligne(s) valide(s).")
    if n_err and not n_valid:
        return False, ("Aucune ligne valide : la confirmation ne chargera rien, elle gardera seulement les lignes "
                       "rejetées et leurs motifs en quarantaine.")
    plan = (f"{fmt(pending.get('n_inserted', 0), 0)} nouvelle(s), {fmt(pending.get('n_updated', 0), 0)} mise(s) "
            f"à jour, {fmt(pending.get('n_unchanged', 0), 0)} inchangée(s)")
    if n_err:
        plan += f" ; {fmt(pending.get('n_rejected_rows', 0), 0)} ligne(s) rejetée(s) gardée(s) en quarantaine"
    return False, f"Prêt à importer : {plan}."


def problems_frame(report: importer.ImportReport, limit: int | None = None) -> pd.DataFrame:
    df = report.to_frame().head(MAX_SHOWN if limit is None else limit).copy()
    df["valeur"] = df["valeur"].map(lambda v: v if not isinstance(v, str) or len(v) <= MAX_VALUE_CHARS
                                    else v[: MAX_VALUE_CHARS - 1] + "…")
    df["ligne"] = df["ligne"].astype("Int64")
    return df.astype(object).where(df.notna(), None)


PROBLEM_COLUMNS = [{"name": "Gravité", "id": "gravite"}, {"name": "Ligne", "id": "ligne", "type": "numeric"},
                   {"name": "Colonne", "id": "colonne"}, {"name": "Valeur", "id": "valeur"},
                   {"name": "Motif", "id": "motif"}]


def problems_table(table_id: str, report: importer.ImportReport) -> html.Div | None:
    if not report.problems:
        return None
    df = problems_frame(report)
    shown = len(df)
    more = len(report.problems) - shown
    return html.Div([
        html.H3(f"Détail : {fmt(len(report.problems), 0)} problème(s)"),
        html.P([f"Seuls les {fmt(shown, 0)} premiers sont affichés. ",
                html.Button("Télécharger le rapport complet (CSV)", id="imp-full-report", n_clicks=0,
                            className="btn btn-secondary")],
               className="note") if more > 0 and table_id == "imp-problems" else None,
        data_table(table_id, df, columns=PROBLEM_COLUMNS, page_size=15, filename="rapport-import",
                   caption="Chaque ligne : gravité, numéro de ligne dans le tableur, colonne, valeur lue et motif. "
                           "Cliquez sur un en-tête pour trier.",
                   style_data_conditional=[{"if": {"filter_query": '{gravite} = "erreur"', "column_id": "gravite"},
                                            "fontWeight": "700"}]),
    ])


def size_text(n: int) -> str:
    if n < 1024:
        return f"{fmt(n, 0)} octets"
    if n < 1024 * 1024:
        return f"{fmt(n / 1024, 0)} Ko"
    return f"{fmt(n / 2**20, 1)} Mo"


def report_view(report: importer.ImportReport, mapping_name: str | None = None) -> html.Div:
    """The validation report: what was read, rows OK / rejected, what a confirmation would do,
    then every problem in a sortable table. Everything is text (Dash escapes it)."""
    head = [html.Li(["Fichier : ", html.Strong(report.file_name), f" ({size_text(report.size)}, "
                     f"empreinte SHA-256 {report.sha256[:12]}…)" if report.sha256 else ""]),
            html.Li(f"Type : {KINDS[report.kind].lower()}")]
    if mapping_name:
        head.append(html.Li(f"Correspondance des colonnes : {mapping_name}"))
    if report.how_read():
        head.append(html.Li("Lu : " + report.how_read()))
    if report.fatal:
        first = report.errors[0] if report.errors else None
        return html.Div([
            html.H2("Rapport de vérification"),
            html.P(["Le fichier ne peut pas être importé : ", html.Strong(str(first) if first else "fichier illisible")],
                   className="note", id="imp-report-status", role="alert"),
            html.Ul(head),
            problems_table("imp-problems", report),
        ], id="imp-report-body")
    n_err_rows = len(report.rejected_rows)
    if report.ok:
        status = f"Fichier valide : les {fmt(report.n_rows, 0)} ligne(s) peuvent être importées."
    else:
        status = (f"{fmt(len(report.errors), 0)} erreur(s) dans {fmt(n_err_rows, 0)} ligne(s) sur "
                  f"{fmt(report.n_rows, 0)}.")
    cards = html.Div([
        _card(report.n_rows, "lignes lues", "imp-n-rows"),
        _card(report.n_valid, "lignes valides", "imp-n-valid"),
        _card(n_err_rows, "lignes rejetées", "imp-n-rejected"),
        _card(len(report.warnings), "avertissements", "imp-n-warnings"),
        _card(len(report.needs_coordinates), "à localiser (coordonnées à fournir)", "imp-n-locate"),
    ], className="cards")
    plan = html.P(f"Si vous confirmez : {fmt(report.n_inserted, 0)} nouvelle(s), {fmt(report.n_updated, 0)} mise(s) "
                  f"à jour, {fmt(report.n_unchanged, 0)} inchangée(s) (lignes valides seulement).", id="imp-plan")
    return html.Div([
        html.H2("Rapport de vérification"),
        html.P(html.Strong(status), id="imp-report-status", role="status"),
        html.Ul(head),
        cards,
        plan,
        coverage_view(report),
        problems_table("imp-problems", report),
    ], id="imp-report-body")


def coverage_options() -> list[dict]:
    """Territories a registry can be declared complete on: régions, départements, EPCI, communes."""
    opts = []
    for level in ("region", "departement", "epci", "commune"):
        df = access.territories(level)
        opts += [{"label": f"{LEVEL_LABELS[level]} — {n} ({c})", "value": f"{level}:{c}"}
                 for c, n in zip(df.code, df.name)]
    return opts


register_search("imp-coverage", coverage_options)


def coverage_view(report: importer.ImportReport) -> html.P | None:
    """What the validated file covers by default, and how to declare more."""
    if report.fatal or not report.coverage_text:
        return None
    return html.P([html.Strong("Territoire où ce registre est complet : "),
                   f"par défaut, les communes que nomme le fichier ({report.coverage_text}). Ailleurs, la "
                   "couverture des quartiers et leurs actions restent « non recensées » (jamais « aucune »). Pour "
                   "déclarer un territoire plus large, choisissez-le à l'étape 5."], id="imp-coverage-default")


def _card(n, caption: str, card_id: str) -> html.Div:
    return html.Div([html.Div(fmt(n, 0), className="figure"), html.Div(caption, className="caption")],
                    className="card", id=card_id)


def result_view(report: importer.ImportReport) -> html.Div:
    """After a confirmation: the counts, links to the pages that show the data, or why nothing was written."""
    if not report.applied:
        if report.fatal:
            why = str(report.errors[0]) if report.errors else "le fichier ne peut pas être lu"
        else:
            why = (f"{fmt(len(report.errors), 0)} erreur(s) (la base a pu changer depuis la vérification) ; "
                   "en mode tout ou rien, aucune ligne n'est chargée")
        return html.Div([
            html.H2("Import refusé"),
            html.P(f"Import refusé : {why}. La base n'a pas été modifiée.", className="note", role="alert",
                   id="imp-result-status"),
            problems_table("imp-result-problems", report),
        ], id="imp-result-body")
    what = "actions" if report.kind == "actions" else "dispositifs"
    return html.Div([
        html.H2("Import effectué"),
        html.P(f"La base a été mise à jour avec les {what} de « {report.file_name} » "
               f"(import {report.import_ref}).", role="status", id="imp-result-status"),
        html.Div([
            _card(report.n_inserted, "nouvelles", "imp-done-inserted"),
            _card(report.n_updated, "mises à jour", "imp-done-updated"),
            _card(report.n_unchanged, "inchangées", "imp-done-unchanged"),
            _card(report.n_rejected, "rejetées" + (" (gardées en quarantaine)" if report.n_rejected else ""),
                  "imp-done-rejected"),
        ], className="cards"),
        html.P([html.Strong(report.coverage_label() + " : "), report.coverage_text], id="imp-result-coverage")
        if report.coverage_text else None,
        html.P(["Voir les données : ", dcc.Link("page Actions", href="/actions", id="imp-link-actions"), " · ",
                dcc.Link("page Couverture ASV", href="/couverture", id="imp-link-couverture"), " · ",
                dcc.Link("page Données (journal des imports)", href="/donnees")]),
        problems_table("imp-result-problems", report) if report.problems else None,
    ], id="imp-result-body")


def error_box(message: str, box_id: str = "imp-error") -> html.P:
    return html.P(message, className="note", role="alert", id=box_id)


# --- Layout ------------------------------------------------------------------------------

def disabled_layout() -> html.Div:
    return html.Div([
        html.H1("Importer des actions ou des dispositifs"),
        html.Div([
            html.P(html.Strong("L'import depuis l'application est désactivé sur ce serveur.")),
            html.P(["Pour l'activer, la personne qui administre le serveur définit un jeton secret dans la "
                    "variable d'environnement ", html.Code(TOKEN_ENV), " avant de démarrer l'application, "
                    "puis le communique aux personnes autorisées à importer. Par exemple :"]),
            html.Pre(html.Code(f'export {TOKEN_ENV}="$(python -c \'import secrets; '
                               'print(secrets.token_urlsafe(24))\')"\nmake serve')),
            html.P(["Sans jeton, l'import reste possible en ligne de commande : ",
                    html.Code("python -m etl import actions FICHIER"), " (voir docs/import.md)."]),
        ], className="note", id="imp-disabled", role="status"),
    ])


def _step(title: str, *children) -> html.Section:
    return html.Section([html.H2(title), *children], className="imp-step")


def layout(type: str | None = None, **_):  # noqa: A002  (URL parameter name)
    if not import_enabled():
        return disabled_layout()
    kind = next((k for k, v in KIND_URL.items() if v == type), "actions")
    limit_mb = importer.spec.MAX_FILE_MB
    return html.Div([
        html.H1("Importer des actions ou des dispositifs"),
        html.P("Chargez vos actions de santé ou votre liste de dispositifs (ASV, CLS, CLSM, CPTS) depuis un "
               "tableur au format du modèle. Le fichier est d'abord vérifié ligne par ligne ; rien n'est écrit "
               "avant votre confirmation.", className="lead"),
        _step("1. Jeton d'administration",
              html.Div([
                  html.Div([html.Label("Jeton d'administration", htmlFor="imp-token"),
                            dcc.Input(id="imp-token", type="password", autoComplete="off", debounce=False,
                                      placeholder="collez le jeton", style={"minWidth": "22rem"})],
                           className="control"),
                  html.Button("Valider le jeton", id="imp-unlock", className="btn", n_clicks=0),
              ], className="controls"),
              html.Div(id="imp-token-status", role="status", **{"aria-live": "polite"})),
        html.Div([
            _step("2. Type de données",
                  html.Div([
                      html.Fieldset([html.Legend("Le fichier contient", className="control-label"),
                                     dcc.RadioItems(id="imp-kind", value=kind,
                                                    options=[{"label": v, "value": k} for k, v in KINDS.items()],
                                                    inline=True, inputStyle={"marginRight": ".3rem"},
                                                    labelStyle={"marginRight": "1.2rem"})],
                                    className="control"),
                      html.Div([html.Span("Modèle à remplir :", className="control-label"),
                                html.Div([html.Button("Modèle CSV", id="imp-template-csv", className="btn btn-secondary",
                                                      n_clicks=0),
                                          html.Button("Modèle XLSX", id="imp-template-xlsx",
                                                      className="btn btn-secondary", n_clicks=0)],
                                         style={"display": "flex", "gap": ".5rem"})], className="control"),
                      dcc.Download(id="imp-template-dl"),
                  ], className="controls")),
            _step("3. Correspondance des colonnes (facultatif)",
                  html.P("Si votre fichier n'a pas les noms de colonnes du modèle (export d'OSCARS ou d'un autre "
                         "outil), joignez un fichier de correspondance (.toml, voir docs/import.md)."),
                  html.Div([
                      html.Div(dcc.Upload(html.Div(["Déposez le fichier de correspondance ici ou ",
                                                    html.U("choisissez-le")]),
                                          id="imp-mapping", accept=".toml,.txt", max_size=MAPPING_MAX_BYTES,
                                          className="imp-drop imp-drop-small"),
                               **{"data-input-label": "Fichier de correspondance des colonnes (.toml), facultatif"}),
                      html.Button("Retirer la correspondance", id="imp-mapping-clear",
                                  className="btn btn-secondary", n_clicks=0),
                  ], style={"display": "flex", "gap": ".8rem", "alignItems": "center", "flexWrap": "wrap"}),
                  html.Div("Aucune correspondance : les colonnes du modèle sont attendues.", id="imp-mapping-status",
                           className="source-line", role="status")),
            _step("4. Fichier à importer",
                  html.P(["CSV (UTF-8 ou Windows-1252, séparateur ; , ou tabulation) ou XLSX. ",
                          html.Strong(f"Taille maximale : {limit_mb} Mo"),
                          " (au-delà, découpez le fichier, par exemple par année ou par territoire)."],
                         id="imp-limit"),
                  html.Div(
                      dcc.Upload(html.Div(["Déposez le fichier ici ou ", html.U("choisissez-le"),
                                           html.Br(), html.Span(f"CSV ou XLSX, {limit_mb} Mo au plus",
                                                                className="muted")]),
                                 id="imp-upload", accept=".csv,.txt,.tsv,.xlsx,.xlsm", max_size=max_bytes(),
                                 className="imp-drop"),
                      id="imp-upload-wrap", **{"data-max-bytes": str(max_bytes()), "data-max-mb": str(limit_mb),
                                               "data-input-label": f"Fichier à importer (CSV ou XLSX, {limit_mb} Mo "
                                                                   "au plus)"}),
                  html.Div(id="imp-size-alert", role="alert", className="imp-size-alert"),
                  html.Button("Vérifier à nouveau", id="imp-recheck", className="btn btn-secondary", n_clicks=0,
                              style={"marginTop": ".5rem"}),
                  dcc.Loading(html.Div(id="imp-report"), type="default")),
            _step("5. Territoire où ce registre est complet",
                  html.P("Dites où votre fichier recense tous les dispositifs (ou toutes les actions) : hors de ce "
                         "territoire, l'atlas écrit « non recensé », jamais « aucun ». Sans choix, ce sont les "
                         "communes que nomme le fichier."),
                  html.Div([html.Label("Territoire couvert (facultatif, plusieurs choix possibles)",
                                       htmlFor="imp-coverage"),
                            search_dropdown("imp-coverage", [], multi=True, clearable=True,
                                            placeholder="Par défaut : les communes que nomme le fichier",
                                            style={"minWidth": "26rem"})], className="control")),
            _step("6. Mode d'import",
                  html.Fieldset([html.Legend("Que faire des lignes en erreur ?", className="control-label"),
                                 dcc.RadioItems(id="imp-mode", value="all",
                                                options=[{"label": v, "value": k} for k, v in MODES.items()],
                                                inputStyle={"marginRight": ".3rem"})],
                                className="control")),
            _step("7. Confirmer",
                  html.P("La confirmation écrit dans la base : une copie est mise à jour puis remplace la base en "
                         "une seule opération ; en cas de problème, la base reste inchangée."),
                  html.Button("Confirmer l'import", id="imp-confirm", className="btn", n_clicks=0, disabled=True),
                  html.P(id="imp-confirm-hint", className="source-line", role="status"),
                  dcc.Loading(html.Div(id="imp-result"), type="default")),
        ], id="imp-steps", hidden=True),
        dcc.Store(id="imp-pending"),
        dcc.Download(id="imp-full-report-dl"),
    ], id="imp-page")


# --- Callbacks ---------------------------------------------------------------------------

BAD_TOKEN = ("Jeton d'administration absent ou incorrect : saisissez le jeton puis cliquez sur « Valider le "
             "jeton ».")


@callback(Output("imp-token-status", "children"), Output("imp-steps", "hidden"),
          Input("imp-unlock", "n_clicks"), Input("imp-token", "n_submit"), State("imp-token", "value"),
          prevent_initial_call=True)
def unlock(n_clicks, n_submit, token):
    if token_ok(token):
        return html.P("Jeton accepté : vous pouvez importer un fichier.", id="imp-token-ok"), False
    return error_box("Jeton incorrect.", "imp-token-bad"), True


@callback(Output("url-state", "search", allow_duplicate=True), Input("imp-kind", "value"), prevent_initial_call=True)
def kind_to_url(kind):
    kind = guard.one(kind, KINDS, "actions")
    return "" if kind == "actions" else f"?type={KIND_URL[kind]}"


@callback(Output("imp-template-dl", "data"), Input("imp-template-csv", "n_clicks"),
          Input("imp-template-xlsx", "n_clicks"), State("imp-kind", "value"), prevent_initial_call=True)
def download_template(n_csv, n_xlsx, kind):
    ext = "xlsx" if ctx.triggered_id == "imp-template-xlsx" else "csv"
    path = TEMPLATES_DIR / f"{importer.TEMPLATE_NAMES[guard.one(kind, KINDS, 'actions')]}.{ext}"
    if not path.is_file():
        raise PreventUpdate
    return dcc.send_file(str(path))


@callback(Output("imp-mapping", "contents"), Output("imp-mapping", "filename"),
          Input("imp-mapping-clear", "n_clicks"), prevent_initial_call=True)
def clear_mapping(n):
    return None, None


@callback(Output("imp-report", "children"), Output("imp-pending", "data"), Output("imp-upload", "contents"),
          Output("imp-result", "children"), Output("imp-mapping-status", "children"),
          Input("imp-upload", "contents"), Input("imp-kind", "value"), Input("imp-mapping", "contents"),
          Input("imp-recheck", "n_clicks"),
          State("imp-upload", "filename"), State("imp-mapping", "filename"), State("imp-token", "value"),
          State("imp-pending", "data"), prevent_initial_call=True)
def check_file(contents, kind, mapping_contents, _recheck, filename, mapping_name, token, pending):
    """Validate the uploaded file (or the pending one again) against the current DB.

    The bytes are written to the pending folder and removed from the browser (the Upload's
    contents is cleared); the report shows what a confirmation would do."""
    if not token_ok(token):     # someone else's pending file is neither used nor deleted
        return error_box(BAD_TOKEN), None, None, None, no_update
    kind = guard.one(kind, KINDS, "actions")
    pending = pending if isinstance(pending, dict) else None
    # 1. The data file: a new upload goes to a new pending folder; otherwise the pending one.
    if ctx.triggered_id == "imp-upload" and contents:
        if pending and pending.get("id"):
            drop_pending(pending["id"], token)
        try:
            data = upload_bytes(contents)
        except InputError as exc:
            return error_box(str(exc)), None, None, None, no_update
        name = importer.safe_file_name(filename)
        pid = save_pending(data, name, token) if len(data) <= max_bytes() else None   # too big: reported below
    elif pending and pending.get("id"):
        got = read_pending(pending["id"], token)
        if got is None:
            return (error_box("Le fichier vérifié n'est plus disponible (délai dépassé) : envoyez-le à nouveau."),
                    None, no_update, None, no_update)
        data, meta = got
        name, pid = meta["file_name"], pending["id"]
    else:
        data = pid = None
    # 2. The mapping file (small: it stays in the browser, so that it applies to later uploads too).
    mapping, mapping_raw = None, None
    mapping_msg = "Aucune correspondance : les colonnes du modèle sont attendues."
    if mapping_contents:
        try:
            mapping_raw = (upload_bytes(mapping_contents), importer.safe_file_name(mapping_name, "correspondance.toml"))
            mapping = parse_mapping(mapping_raw[0], mapping_raw[1], kind)
            mapping_msg = f"Correspondance utilisée : {mapping_raw[1]}."
        except InputError as exc:
            msg = f"Fichier de correspondance refusé : {exc}"
            keep = {"id": pid, "fatal": True} if pid else None   # revalidated once the mapping is fixed
            return (error_box(msg) if data is not None else None, keep, None, None,
                    error_box(msg, "imp-mapping-error"))
    if data is None:
        return no_update, no_update, no_update, no_update, mapping_msg
    try:
        con = access.snapshot_connection()
    except FileNotFoundError as exc:
        return error_box(str(exc)), None, None, None, mapping_msg
    try:
        report = importer.validate(data, kind, con=con, filename=name, mapping=mapping, geocoder=geocoder())
    except InputError as exc:
        report, message = None, str(exc)
    except Exception as exc:  # noqa: BLE001  (shown to the user, logged for the admin)
        LOG.exception("import validation failed")
        report, message = None, f"Erreur inattendue pendant la vérification ({type(exc).__name__})."
    finally:
        con.close()
    if report is None:
        drop_pending(pid, token)
        return error_box(message), None, None, None, mapping_msg
    if pid:   # kept even when the file is refused: choosing another type or mapping re-checks it
        update_pending(pid, token, mapping_raw, report.write_csv, kind=kind, validated_sha256=report.sha256)
    return (report_view(report, mapping_raw[1] if mapping_raw else None),
            store_data(pid, report, mapping_raw[1] if mapping_raw else None), None, None, mapping_msg)


@callback(Output("imp-full-report-dl", "data"), Input("imp-full-report", "n_clicks"), State("imp-token", "value"),
          State("imp-pending", "data"), prevent_initial_call=True)
def download_full_report(n_clicks, token, pending):
    """Every problem of the validated file (the table shows the first MAX_SHOWN)."""
    if not n_clicks or not token_ok(token) or not isinstance(pending, dict):
        raise PreventUpdate
    path = pending_file(pending.get("id"), token, "rapport.csv")
    if path is None:
        raise PreventUpdate
    stem = Path(importer.safe_file_name(pending.get("file_name"))).stem
    return dcc.send_file(str(path), filename=f"rapport-import-{stem}.csv")


@callback(Output("imp-confirm", "disabled"), Output("imp-confirm-hint", "children"),
          Input("imp-pending", "data"), Input("imp-mode", "value"))
def confirm_state(pending, mode):
    return confirm_hint(pending if isinstance(pending, dict) else None, guard.one(mode, MODES, "all"))


@callback(Output("imp-result", "children", allow_duplicate=True), Output("imp-pending", "data", allow_duplicate=True),
          Output("imp-report", "children", allow_duplicate=True),
          Input("imp-confirm", "n_clicks"), State("imp-token", "value"), State("imp-pending", "data"),
          State("imp-mode", "value"), State("imp-coverage", "value"), prevent_initial_call=True)
def confirm_import(n_clicks, token, pending, mode, coverage=None):
    """Apply the validated file through the importer's single-writer path (etl.importer.apply)."""
    if not n_clicks:
        raise PreventUpdate
    if not token_ok(token):
        return error_box(BAD_TOKEN, "imp-result-error"), no_update, no_update
    pending = pending if isinstance(pending, dict) else None
    got = read_pending(pending.get("id"), token) if pending else None
    if got is None:
        return (error_box("Aucun fichier vérifié à importer (ou délai dépassé) : envoyez le fichier à nouveau.",
                          "imp-result-error"), None, no_update)
    data, meta = got
    if hashlib.sha256(data).hexdigest() != pending.get("sha256") or meta.get("validated_sha256") != pending.get("sha256"):
        return (error_box("Le fichier a changé depuis sa vérification : vérifiez-le à nouveau.", "imp-result-error"),
                no_update, no_update)
    kind = guard.one(meta.get("kind"), KINDS, "actions")
    mapping = None
    raw = pending_mapping(pending["id"], token)
    try:
        if raw:
            mapping = parse_mapping(raw[0], raw[1], kind)
        declared = guard.many(coverage)[:2000] or None
        report = importer.apply(data, kind, db=access.db_path(), filename=meta.get("file_name"), mapping=mapping,
                                quarantine=(mode == "quarantine"), geocoder=geocoder(), coverage=declared)
    except DatabaseBusy:
        return (error_box("Un autre import (ou une reconstruction de la base) est en cours : réessayez dans "
                          "quelques instants. La base n'a pas été modifiée.", "imp-result-error"), no_update, no_update)
    except InputError as exc:
        return error_box(f"Import impossible : {exc}", "imp-result-error"), no_update, no_update
    except Exception as exc:  # noqa: BLE001  (apply raises only before the swap: the DB is unchanged)
        LOG.exception("import failed")
        return (error_box(f"Erreur inattendue pendant l'import ({type(exc).__name__}) : la base n'a pas été "
                          "modifiée.", "imp-result-error"), no_update, no_update)
    return acknowledge(report, pending["id"], token)


def acknowledge(report: importer.ImportReport, pid: str, token: str):
    """What the user reads once importer.apply returned: the last step, which nothing can turn into
    "not imported". Writing the report file or cleaning up may fail: the import stands and the
    message says what it did, with the same counts as the report."""
    try:
        report.write(access.db_path().parent / "imports" / "rapports")
    except Exception:  # noqa: BLE001  (a full disk, a name the file system refuses: logged)
        LOG.exception("import report not written")
    if report.applied:
        try:
            drop_pending(pid, token)
        except Exception:  # noqa: BLE001  (swept after PENDING_TTL anyway)
            LOG.exception("pending upload not removed")
        try:
            memory.refresh()     # this worker shows the import at once (the others read it in the background)
        except Exception:  # noqa: BLE001
            LOG.exception("new DB version not read yet")
    try:
        view = result_view(report)
    except Exception:  # noqa: BLE001
        LOG.exception("import result view failed")
        view = html.P(f"{report.status_text()} Le détail n'a pas pu être affiché : voir la page Données.",
                      role="status", id="imp-result-status")
    return (view, None, None) if report.applied else (view, no_update, no_update)
