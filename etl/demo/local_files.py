"""Writers of the local health files: schemes (ASV, CLS, CLSM), CPTS territories, actions."""
from __future__ import annotations

import math
import tomllib

import numpy as np
import shapely
from shapely.geometry import Point

from ..config import TAXONOMY_FILE
from .plan import ACTION_COLUMNS, ACTION_YEARS, DECIMALS, FILES, N_ACTIONS, SCHEME_COLUMNS
from .world import World, _Rand, _adjacency, _fold, _multi
from .formats import CRS84, _geojson, _quoted_csv


# ---- Schemes, CPTS and actions ------------------------------------------------------------------
def _taxonomy():
    tax = tomllib.loads(TAXONOMY_FILE.read_text(encoding="utf-8"))
    themes = []  # (id, label, axis id)
    for axis in tax["theme"]:
        themes.append((axis["id"], axis["label"], axis["id"]))
        for cid, label in axis.get("children", []):
            themes.append((cid, label, axis["id"]))
    publics = [(pid, label) for pid, label in tax["publics"]["items"]]
    return themes, publics


TITLES = {
    "observation": ["Diagnostic local de santé", "Enquête santé auprès des habitants",
                    "Observatoire fictif de la santé du quartier"],
    "acces_droits_soins": ["Permanence d'accès aux droits de santé", "Accompagnement vers la Complémentaire santé solidaire",
                           "Médiation santé au pied des immeubles"],
    "prevention": ["Prévention santé au centre social", "Journée santé du quartier"],
    "nutrition": ["Ateliers cuisine et équilibre alimentaire", "Petits-déjeuners santé à l'école",
                  "Jardin partagé et alimentation"],
    "activite_physique": ["Marche santé hebdomadaire", "Sport sur ordonnance", "Gym douce pour les seniors"],
    "sante_bucco_dentaire": ["Dépistage bucco-dentaire en maternelle", "Brossage des dents à l'école"],
    "education_sante": ["Éducation pour la santé au collège", "Forum santé des habitants"],
    "vaccination_depistage": ["Journée de vaccination gratuite", "Dépistages itinérants"],
    "cancer": ["Octobre rose : sensibilisation au dépistage", "Accompagnement au dépistage du cancer colorectal"],
    "vie_affective_sexuelle": ["Ateliers vie affective et sexuelle", "Espace d'écoute santé sexuelle"],
    "vih_ist_hepatites": ["Dépistage rapide VIH et hépatites", "Prévention des IST"],
    "sante_mentale": ["Groupe de parole santé mentale", "Premiers secours en santé mentale"],
    "addictions": ["Prévention des addictions au lycée", "Consultation jeunes consommateurs"],
    "estime_de_soi": ["Ateliers estime de soi", "Théâtre forum et confiance en soi"],
    "sism": ["Semaines d'information sur la santé mentale"],
    "clsm": ["Cellule de situations complexes du CLSM"],
    "reseaux_sante_mentale": ["Réseau d'écoute et d'orientation psychologique"],
    "sante_environnement": ["Balade santé-environnement"],
    "habitat_indigne": ["Repérage de l'habitat indigne", "Accompagnement des locataires de logements insalubres"],
    "saturnisme": ["Prévention du saturnisme infantile"],
    "qualite_air": ["Ateliers qualité de l'air intérieur"],
    "pollutions": ["Sensibilisation aux nuisances sonores"],
    "parcours_soins": ["Coordination des parcours de santé"],
    "reseaux_sante": ["Réseau diabète de proximité"],
    "maisons_sante": ["Projet de maison de santé pluriprofessionnelle", "Consultations avancées en centre de santé"],
    "medico_social": ["Accompagnement médico-social des personnes âgées"],
    "lien_ville_hopital": ["Sortie d'hospitalisation accompagnée"],
}
THEME_WEIGHTS = {"prevention": 0.5, "sante_mentale": 0.6, "parcours_soins": 0.5, "sante_environnement": 0.5,
                 "nutrition": 3, "activite_physique": 3, "acces_droits_soins": 3, "education_sante": 2,
                 "addictions": 2, "estime_de_soi": 2, "vaccination_depistage": 1.5, "sante_bucco_dentaire": 1.5}
PUBLIC_WEIGHTS = {"precarite": 4, "enfants_jeunes": 4, "femmes": 2, "parentalite": 2, "vieillissement": 2}
# Publics that go with a theme (the first public of an action is usually one of them).
THEME_PUBLICS = {
    "nutrition": ["enfants_jeunes", "parentalite", "precarite"],
    "activite_physique": ["vieillissement", "femmes", "enfants_jeunes", "handicap"],
    "sante_bucco_dentaire": ["petite_enfance", "enfants_jeunes"],
    "education_sante": ["enfants_jeunes", "parentalite"],
    "vaccination_depistage": ["precarite", "migrants_gens_voyage", "petite_enfance"],
    "cancer": ["femmes", "vieillissement"],
    "vie_affective_sexuelle": ["enfants_jeunes", "femmes", "violences"],
    "vih_ist_hepatites": ["enfants_jeunes", "migrants_gens_voyage", "detenus"],
    "addictions": ["enfants_jeunes", "insertion", "detenus"],
    "estime_de_soi": ["femmes", "insertion", "enfants_jeunes", "violences"],
    "saturnisme": ["petite_enfance", "perinatalite"],
    "habitat_indigne": ["precarite", "vieillissement"],
    "medico_social": ["vieillissement", "handicap"],
    "lien_ville_hopital": ["vieillissement", "personnes_isolees"],
    "acces_droits_soins": ["precarite", "migrants_gens_voyage", "personnes_isolees"],
    "sante_mentale": ["personnes_isolees", "precarite", "enfants_jeunes"],
    "sism": ["enfants_jeunes", "personnes_isolees"],
    "clsm": ["precarite", "personnes_isolees"],
    "reseaux_sante_mentale": ["personnes_isolees", "precarite"],
    "maisons_sante": ["precarite", "vieillissement"],
    "reseaux_sante": ["vieillissement", "precarite"],
}
PORTEURS = [
    "Association Santé Fictive", "Mutuelle Imaginaire Solidaire", "Comité fictif d'éducation pour la santé",
    "Association Sport-Chimère", "Ligue imaginaire contre le cancer", "Planning familial fictif d'Utopie",
    "Collectif Songe et Santé", "Association Les Petits Farfadets", "Association Mirage Prévention Addictions",
    "Épicerie solidaire des Licornes", "Maison des adolescents fictive", "Réseau Diabète Imaginaire",
]
FUNDERS = ["ARS fictive d'Utopie", "CPAM imaginaire", "Conseil départemental fictif",
           "État - politique de la ville (fictif)", "Fondation Imaginaire", "Caisse fictive d'allocations familiales"]
STREETS = ["rue des Licornes", "avenue des Chimères", "place du Mirage", "allée des Songes", "boulevard de l'Utopie",
           "impasse des Farfadets", "chemin des Fées"]


def _schemes(w: World, rnd: _Rand):
    """ASV, CLS, CLSM rows of the schemes template, and the CPTS territories."""
    by_role = {c.role: c for c in w.communes if c.role}
    qpvs_of = {}
    for q in sorted(w.qpv24, key=lambda q: q.code):
        qpvs_of.setdefault(q.communes[0], []).append(q.code)
    schemes = []  # dicts with template columns plus internal keys
    asv_plan = [("MU", 4, 2009, "Ville de Mont-Utopie", "actif"),
                ("MS", 2, 2012, "CCAS de Mirage-sur-Songe", "actif"),
                ("BF", 4, 2007, "Association Santé Fictive", "actif"),
                ("FR", 1, 2016, "Ville de Fictif-la-Rivière", "actif"),
                ("PI", 3, 2010, "Ville de Port-Imaginaire", "actif"),
                ("CB", 2, 2019, "Centre social des Minotaures (fictif)", "en projet")]
    for n, (role, k, year, porteur, statut) in enumerate(asv_plan, start=1):
        c = by_role[role]
        covered = qpvs_of[c.code][:k]
        schemes.append({"id_dispositif": f"ASV{n:03d}", "type": "ASV", "nom": f"Atelier santé ville de {c.name}",
                        "porteur": porteur, "annee_creation": str(year), "statut": statut,
                        "communes": c.code, "qpv": ("," if n == 4 else "|").join(covered),
                        "site_web": f"https://www.{_slug(c.name)}.example/atelier-sante-ville"})
    bf_epci = by_role["BF"].epci
    cls_plan = [("CLS de Mont-Utopie", [by_role["MU"].code], 2013, "Ville de Mont-Utopie", "actif"),
                ("CLS de Port-Imaginaire", [by_role["PI"].code], 2015, "Ville de Port-Imaginaire", "actif"),
                ("CLS intercommunal du Pays de Bourg-Fictif",
                 [c.code for c in w.communes if c.epci == bf_epci], 2018,
                 "Communauté d'agglomération de Bourg-Fictif", "actif"),
                ("CLS de Saint-Licorne", [by_role["SL"].code], 2021, "Ville de Saint-Licorne", "actif"),
                ("CLS de Val-Chimère", [by_role["VC"].code], 2014, "Ville de Val-Chimère", "terminé")]
    for n, (name, codes, year, porteur, statut) in enumerate(cls_plan, start=1):
        schemes.append({"id_dispositif": f"CLS{n:03d}", "type": "CLS", "nom": name, "porteur": porteur,
                        "annee_creation": str(year), "statut": statut, "communes": "|".join(codes), "qpv": "",
                        "site_web": ""})
    clsm_plan = [("CLSM de Mont-Utopie et Mirage-sur-Songe", [by_role["MU"].code, by_role["MS"].code], 2014),
                 ("CLSM de Port-Imaginaire", [by_role["PI"].code], 2017),
                 ("CLSM du Pays de Bourg-Fictif", [by_role["BF"].code, by_role["FR"].code], 2020)]
    for n, (name, codes, year) in enumerate(clsm_plan, start=1):
        schemes.append({"id_dispositif": f"CLSM{n:03d}", "type": "CLSM", "nom": name,
                        "porteur": "Collectif Songe et Santé" if n == 1 else f"Ville de {w.commune(codes[0]).name}",
                        "annee_creation": str(year), "statut": "actif", "communes": "|".join(codes), "qpv": "",
                        "site_web": ""})

    # CPTS: groups of neighbouring communes grown from a seed commune, disjoint
    geoms = [c.geom for c in w.communes]
    adj = _adjacency([c.geom_km for c in w.communes])
    taken: set[int] = set()
    idx = {c.code: i for i, c in enumerate(w.communes)}
    cpts_plan = [("MU", "CPTS des Licornes", 6, 2019, "Association CPTS des Licornes", "actif"),
                 ("BF", "CPTS du Pays Fictif", 5, 2021, "Association Pays Fictif Santé", "actif"),
                 ("PI", "CPTS Imaginaire Littoral", 6, 2020, "Association Imaginaire Littoral", "actif"),
                 ("SL", "CPTS des Monts de Songe", 4, 2024, "Association Monts de Songe Santé", "en projet")]
    cpts = []
    for n, (role, name, size, year, porteur, statut) in enumerate(cpts_plan, start=1):
        start = idx[by_role[role].code]
        if start in taken:
            raise RuntimeError(f"demo CPTS {name} would overlap another CPTS")
        group, frontier = [start], [start]
        while len(group) < size and frontier:
            i = frontier.pop(0)
            for j in adj[i]:
                if j not in taken and j not in group and len(group) < size:
                    group.append(j)
                    frontier.append(j)
        taken |= set(group)
        codes = sorted(w.communes[i].code for i in group)
        geom = _multi(shapely.coverage_union_all(np.array([geoms[i] for i in group], dtype=object)))
        cpts.append(({"code_cpts": f"CPTS-99-{n:02d}", "nom": name, "porteur": porteur,
                      "annee_creation": year, "statut": statut, "communes": ", ".join(codes)}, geom))
    return schemes, cpts


def _lower_first(text: str) -> str:
    return text[:1].lower() + text[1:]


def _slug(name: str) -> str:
    return "-".join(_fold(name).replace("'", " ").replace("-", " ").split())


def _random_point(rnd: _Rand, geom) -> tuple[float, float]:
    minx, miny, maxx, maxy = geom.bounds
    inner = geom.buffer(-0.0004) if geom.area > 1e-5 else geom
    for _ in range(1000):
        x, y = rnd.uniform(minx, maxx), rnd.uniform(miny, maxy)
        if inner.contains(Point(x, y)):
            return round(x, DECIMALS), round(y, DECIMALS)
    raise RuntimeError("could not draw a point")


def _actions(w: World, rnd: _Rand, schemes: list[dict], cpts: list) -> list[list[str]]:
    themes, publics = _taxonomy()
    theme_ids = [t[0] for t in themes]
    theme_label = {t[0]: t[1] for t in themes}
    public_label = dict(publics)
    asv_of_qpv, asv_of_commune, cls_of_commune, clsm_of_commune = {}, {}, {}, {}
    for s in schemes:
        codes = s["communes"].split("|")
        if s["type"] == "ASV":
            for q in s["qpv"].replace(",", "|").split("|"):
                asv_of_qpv[q] = s["id_dispositif"]
            asv_of_commune[codes[0]] = s["id_dispositif"]
        for c in codes:
            {"CLS": cls_of_commune, "CLSM": clsm_of_commune}.get(s["type"], {}).setdefault(c, s["id_dispositif"])
    cpts_of_commune = {}
    for props, _ in cpts:
        for c in props["communes"].split(", "):
            cpts_of_commune[c] = props["code_cpts"]

    qpvs = sorted(w.qpv24, key=lambda q: q.code)
    q_weights = []
    for q in qpvs:
        wgt = 1.0
        if q.code in asv_of_qpv:
            wgt *= 4.0
        elif q.communes[0] in cls_of_commune:
            wgt *= 1.3
        else:
            wgt *= 0.35  # high need, few actions: the quadrant the dashboard highlights
        q_weights.append(wgt)
    communes = list(w.communes)
    c_weights = [math.sqrt(c.population) * (3 if c.role else 1) for c in communes]
    year_weights = [0.6, 0.7, 0.6, 0.9, 1.0, 1.1, 1.2, 1.0]  # 2018..2025 (2020: pandemic dip)
    porteur_pool = PORTEURS + ["Centre hospitalier fictif de Mont-Utopie", "Maison de santé du Val-Chimère"]
    axis_of = {t[0]: t[2] for t in themes}
    by15 = {q.code: q for q in w.qpv15}

    def fmt_item(ident: str, label: str) -> str:
        x = rnd.random()
        if x < 0.58:
            return ident
        if x < 0.93:
            return label
        if x < 0.97:
            return label.lower()
        return _fold(label)  # no accents, lower case: the importer must still match it

    rows = [ACTION_COLUMNS]
    for n in range(1, N_ACTIONS + 1):
        method = rnd.weighted(["qpv", "qpv2015", "commune", "coords"], [62, 8, 18, 12])
        qpv = commune = lon = lat = adresse = ""
        target_q = None
        if method in ("qpv", "qpv2015") or (method == "coords" and rnd.chance(0.7)):
            target_q = rnd.weighted(qpvs, q_weights)
            if method == "qpv2015" and not target_q.predecessors:
                method = "qpv"
        if method == "qpv":
            qpv = target_q.code
            if rnd.chance(0.3):
                commune = target_q.communes[0]
            lieu, c_code = target_q.name, target_q.communes[0]
        elif method == "qpv2015":
            p = by15[rnd.pick(target_q.predecessors)]
            qpv, lieu, c_code = p.code, p.name, p.communes[0]
        elif method == "commune":
            c = rnd.weighted(communes, c_weights)
            commune, lieu, c_code = c.code, c.name, c.code
        else:
            if target_q is not None:
                lon_, lat_ = _random_point(rnd, target_q.geom)
                lieu, c_code = target_q.name, target_q.communes[0]
                host = next(cc for cc in target_q.communes if w.commune(cc).geom.contains(Point(lon_, lat_))) \
                    if any(w.commune(cc).geom.contains(Point(lon_, lat_)) for cc in target_q.communes) else c_code
                c_code = host
            else:
                c = rnd.weighted(communes, c_weights)
                lon_, lat_ = _random_point(rnd, c.geom)
                lieu, c_code = c.name, c.code
            lon, lat = f"{lon_:.{DECIMALS}f}", f"{lat_:.{DECIMALS}f}"
            if rnd.chance(0.5):
                adresse = f"{rnd.integer(1, 60)} {rnd.pick(STREETS)}, {c_code} {w.commune(c_code).name}"
        tid = rnd.weighted(theme_ids, [THEME_WEIGHTS.get(t, 1.0) for t in theme_ids])
        chosen = [tid]
        for _ in range(rnd.weighted([0, 1, 2], [45, 40, 15])):
            related = [t for t in theme_ids if axis_of[t] == axis_of[tid]]
            extra = rnd.pick(related if rnd.chance(0.6) else theme_ids)
            if extra not in chosen:
                chosen.append(extra)
        pub_ids = [p for p, _ in publics]
        if tid in THEME_PUBLICS and rnd.chance(0.8):
            pubs = [rnd.pick(THEME_PUBLICS[tid])]
        else:
            pubs = [rnd.weighted(pub_ids, [PUBLIC_WEIGHTS.get(p, 1) for p in pub_ids])]
        if rnd.chance(0.45):
            extra = rnd.pick(pub_ids)
            if extra not in pubs:
                pubs.append(extra)
        start = rnd.weighted(list(ACTION_YEARS), year_weights)
        end_kind = rnd.weighted(["same", "+1", "+2", "open"], [50, 22, 10, 18])
        end = {"same": str(start), "+1": str(start + 1), "+2": str(start + 2), "open": ""}[end_kind]
        commune_obj = w.commune(c_code)
        porteur = rnd.weighted(
            [rnd.pick(porteur_pool), f"CCAS de {commune_obj.name}", f"Ville de {commune_obj.name}",
             f"Centre social – {target_q.name}" if target_q is not None else rnd.pick(porteur_pool)],
            [60, 15, 15, 10])
        scheme = ""
        x = rnd.random()
        if target_q is not None and target_q.code in asv_of_qpv and x < 0.75:
            scheme = asv_of_qpv[target_q.code]
        elif c_code in asv_of_commune and x < 0.6:
            scheme = asv_of_commune[c_code]
        elif "clsm" in chosen or tid in ("sante_mentale", "sism", "reseaux_sante_mentale"):
            scheme = clsm_of_commune.get(c_code, "")
        elif tid in ("maisons_sante", "lien_ville_hopital", "reseaux_sante", "parcours_soins") and x < 0.8:
            scheme = cpts_of_commune.get(c_code, "")
        if not scheme and x < 0.5:
            scheme = cls_of_commune.get(c_code, "")
        funders = [f for f in FUNDERS if rnd.chance(0.3)] or [FUNDERS[0]]
        if rnd.chance(0.4):
            funders.append(f"Ville de {commune_obj.name}")
        title = f"{rnd.pick(TITLES[tid])} – {lieu}"
        pub_txt = _lower_first(public_label[pubs[0]])
        description = (f"Action fictive de démonstration : {_lower_first(theme_label[tid])} à destination du public "
                       f"« {pub_txt} », {lieu}.")
        rows.append([f"ACT-{n:04d}", title, description, str(start), end, porteur,
                     "|".join(fmt_item(t, theme_label[t]) for t in chosen),
                     "|".join(fmt_item(p, public_label[p]) for p in pubs),
                     qpv, commune, lon, lat, adresse, scheme, ", ".join(funders)])
    return rows


def _files_local(w: World, rnd: _Rand) -> dict[str, bytes]:
    schemes, cpts = _schemes(w, rnd)
    out = {FILES["schemes"]: _quoted_csv([SCHEME_COLUMNS] + [[s[k] for k in SCHEME_COLUMNS] for s in schemes]),
           FILES["cpts"]: _geojson("cpts_utopie", CRS84, cpts, one_per_line=True),
           FILES["actions"]: _quoted_csv(_actions(w, rnd, schemes, cpts)),
           FILES["schemes_cover"]: b"# Territoire o\xc3\xb9 le registre des dispositifs est complet (fictif)\n"
                                   b"departement:96\ndepartement:99\n",
           FILES["actions_cover"]: b"# Territoire o\xc3\xb9 la liste des actions est compl\xc3\xa8te (fictif)\n"
                                   b"region:99\n"}
    return out
