"""Déclaration d'accessibilité, in the form the RGAA requires (conformity state, test results,
non-accessible content, how the declaration was made, feedback and contact, remedies). It says only
what the test suite measures: no full RGAA audit has been made, so the state is "non conforme"."""
from __future__ import annotations

import os

import dash
from dash import html

dash.register_page(__name__, path="/accessibilite", name="Accessibilité",
                   title="Atlas ASV — Déclaration d'accessibilité", order=30)

CONTACT_ENV = "ATLAS_ACCESSIBILITY_CONTACT"


def contact() -> html.P:
    """The publisher's contact (set by the local authority that publishes the atlas)."""
    who = os.environ.get(CONTACT_ENV, "").strip()
    if who:
        return html.P(["Pour signaler un défaut d'accessibilité ou obtenir un contenu sous une autre forme : ",
                       html.Strong(who), "."], id="a11y-contact")
    return html.P(["Contact : à compléter par la collectivité qui publie l'atlas (variable d'environnement ",
                   html.Code(CONTACT_ENV), ")."], id="a11y-contact", className="note")


def layout(**_):
    return html.Div([
        html.H1("Déclaration d'accessibilité"),
        html.P("La collectivité qui publie Atlas ASV s'engage à rendre son service accessible, conformément à "
               "l'article 47 de la loi n° 2005-102 du 11 février 2005. Cette déclaration s'applique à Atlas ASV, "
               "tableau de bord des Ateliers santé ville.", className="lead"),
        html.H2("État de conformité"),
        html.P([html.Strong("Non conforme"), " au référentiel général d'amélioration de l'accessibilité (RGAA) : "
                "aucun audit RGAA complet n'a encore été réalisé, et sans audit un service est déclaré non conforme."],
               id="a11y-state"),
        html.H2("Résultats des tests"),
        html.Ul([
            html.Li("Tests automatiques axe-core (règles WCAG 2.1 niveaux A et AA), à chaque version, sur chaque "
                    "page du jeu de démonstration et dans les états suivants : liste déroulante ouverte, panneau d'un "
                    "quartier ouvert, fiche d'une action, ajout d'une vue à la présentation, présentation lancée : "
                    "aucune erreur détectée."),
            html.Li("Tests au clavier automatisés, sans souris : choisir un territoire et un indicateur, atteindre "
                    "un quartier de la carte avec Tab, le sélectionner (son nom, sa valeur et sa classe sont annoncés) "
                    "et ouvrir sa fiche ; ajouter un territoire à comparer ; ajouter une vue à la présentation, la "
                    "lancer et la piloter (flèches, Page précédente / suivante, Échap)."),
            html.Li("Affichage à 320 pixels de large (ce que montre un écran de 1280 pixels zoomé à 400 %) : aucune "
                    "des pages testées ne défile horizontalement, les listes de choix restent dans la page ; la "
                    "présentation tient sur un vidéoprojecteur de 1024 × 768 pixels."),
            html.Li("Chaque carte a son équivalent en tableau ; la légende est écrite (libellés et effectifs), pas "
                    "seulement en couleurs ; le contraste du texte atteint le niveau AA sur les pages testées."),
        ]),
        html.H2("Contenus non accessibles ou non vérifiés"),
        html.Ul([
            html.Li("Les critères du RGAA qui ne se testent pas automatiquement n'ont pas été audités (pertinence des "
                    "alternatives, ordre de lecture, compréhension des messages…)."),
            html.Li("Les tableaux de données et les cartes défilent dans leur propre cadre à 320 pixels de large "
                    "(contenus en deux dimensions, admis par le critère) ; les valeurs longues d'une liste à choix "
                    "multiples y sont abrégées."),
            html.Li("Les fichiers PDF exportés (cartes, portraits de territoire) ne sont pas balisés pour les "
                    "technologies d'assistance ; leurs données sont disponibles en CSV et XLSX."),
            html.Li("Des composants tiers (tableaux, listes, curseurs) sont complétés par un script qui leur donne "
                    "noms et rôles accessibles ; sans JavaScript, l'atlas ne fonctionne pas."),
        ]),
        html.H2("Établissement de cette déclaration"),
        html.P("Technologies utilisées : HTML5, CSS, JavaScript (Dash, React, Leaflet, Plotly). Environnement de "
               "test : Chromium (Debian) sans interface, à 1366 × 768, 1400 × 1000, 1024 × 768, 683 × 640 et "
               "320 × 640 pixels ; outil : axe-core (axe-playwright-python). Déclaration établie à partir de ces tests, mise à jour à chaque version."),
        html.H2("Retour d'information et contact"),
        contact(),
        html.H2("Voies de recours"),
        html.P("Si vous avez signalé un défaut d'accessibilité qui vous empêche d'accéder à un contenu ou à un "
               "service et n'avez pas obtenu de réponse satisfaisante, vous pouvez écrire au Défenseur des droits, "
               "contacter son délégué dans votre région, ou lui écrire par courrier gratuit (Défenseur des droits, "
               "Libre réponse 71120, 75342 Paris CEDEX 07)."),
    ], id="a11y-declaration")
