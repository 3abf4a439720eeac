"""Plain-text reports for people: French by default, English one argument away.

Every report is a function of analysis results (never of command-line arguments) returning a string; the ``fsgeo``
commands only print them. Numbers go through one formatter, :func:`number`, which follows the language's habits
(French: ``233 185`` with a narrow no-break space between thousands, ``9,1 min``, ``56,5 %``; English: ``233,185``,
``9.1 min``, ``56.5%``). Machine-readable names (JSON keys, CSV and GeoPackage columns, statuses) never go through
here: they stay English identifiers whatever the language.

The messages live in one small catalogue (:data:`MESSAGES`, one entry per sentence with its French and English
forms); :class:`Text` picks a language and formats them.
"""

from __future__ import annotations

import math
import os
import re
import unicodedata
from dataclasses import dataclass, replace
from typing import Callable

LANGS = ("fr", "en")
#: narrow no-break space: French thousands separator and the space before % (CLDR "fr")
NNBSP = "\u202f"


def default_lang() -> str:
    """``FSGEO_LANG`` when it names a known language, else ``"fr"`` (our users are French civil servants)."""
    lang = os.environ.get("FSGEO_LANG", "").strip().lower()[:2]
    return lang if lang in LANGS else "fr"


def check_lang(lang) -> str:
    """``lang`` (``None`` = :func:`default_lang`) validated: ``"fr"`` or ``"en"``."""
    lang = default_lang() if lang is None else str(lang).lower()
    if lang not in LANGS:
        raise ValueError(f"unknown language {lang!r}: expected one of {', '.join(LANGS)}")
    return lang


# --------------------------------------------------------------------------------------------------------------------
# numbers
# --------------------------------------------------------------------------------------------------------------------
def _missing(value) -> bool:
    if value is None:
        return True
    try:
        return not math.isfinite(float(value))
    except (TypeError, ValueError):
        return True


def number(value, digits: int = 0, lang: str | None = None, na: str | None = None) -> str:
    """``value`` rounded to ``digits`` decimals, thousands grouped, in the language's style.

    A value that rounds to zero prints without a sign (never ``-0,0``); ``None``, NaN and inf print ``na``
    (default ``n.d.`` in French, ``n/a`` in English).

    >>> number(233185.0, lang="fr"), number(9.14, 1, lang="fr"), number(233185, lang="en"), number(-0.04, 1, "en")
    ('233\u202f185', '9,1', '233,185', '0.0')
    """
    lang = check_lang(lang)
    if _missing(value):
        return MESSAGES["na"][lang] if na is None else na
    v = round(float(value), digits)
    if v == 0:
        v = 0.0  # no "-0.0"
    text = f"{abs(v):,.{digits}f}"
    if lang == "fr":
        text = text.replace(",", NNBSP).replace(".", ",")
    return ("-" if v < 0 else "") + text


def percent(share, digits: int = 1, lang: str | None = None) -> str:
    """A share (0-1) as a percentage: ``56,5 %`` (French) or ``56.5%`` (English)."""
    lang = check_lang(lang)
    if _missing(share):
        return MESSAGES["na"][lang]
    return number(100.0 * float(share), digits, lang) + (NNBSP + "%" if lang == "fr" else "%")


def minutes(value, lang: str | None = None) -> str:
    """Minutes with one decimal: ``9,1`` / ``9.1`` (the unit is written by the caller)."""
    return number(value, 1, lang)


# --------------------------------------------------------------------------------------------------------------------
# messages
# --------------------------------------------------------------------------------------------------------------------
#: one entry per sentence or label: {"fr": ..., "en": ...}; ``{name}`` fields are filled by :meth:`Text.__call__`
MESSAGES: dict[str, dict[str, str]] = {
    "na": {"fr": "n.d.", "en": "n/a"},
    "none": {"fr": "aucune", "en": "none"},
    "none_m": {"fr": "aucun", "en": "none"},
    "and_more": {"fr": "… et {n} de plus ({hint})", "en": "... and {n} more ({hint})"},
    # units and plurals: (singular, plural); French uses the singular for 0 and 1
    "commune": {"fr": "commune|communes", "en": "commune|communes"},
    "inhabitant": {"fr": "habitant|habitants", "en": "inhabitant|inhabitants"},
    "site": {"fr": "site|sites", "en": "site|sites"},
    "zone": {"fr": "zone|zones", "en": "zone|zones"},
    "candidate": {"fr": "candidat|candidats", "en": "candidate|candidates"},
    "new_site": {"fr": "nouveau site|nouveaux sites", "en": "new site|new sites"},
    "min": {"fr": "min", "en": "min"},
    # column headers
    "h_within": {"fr": "à moins de", "en": "within"},
    "h_inhabitants": {"fr": "habitants", "en": "inhabitants"},
    "h_inhab": {"fr": "hab.", "en": "inhab."},
    "h_share": {"fr": "part", "en": "share"},
    "h_communes": {"fr": "communes", "en": "communes"},
    "h_rank": {"fr": "rang", "en": "rank"},
    "h_code": {"fr": "code", "en": "code"},
    "h_commune": {"fr": "commune", "en": "commune"},
    "h_min": {"fr": "min", "en": "min"},
    "h_nearest": {"fr": "site le plus proche", "en": "nearest site"},
    "h_second": {"fr": "2e (min)", "en": "2nd (min)"},
    "h_zone": {"fr": "zone", "en": "zone"},
    "h_max_min": {"fr": "min max", "en": "max min"},
    "h_mean_min": {"fr": "min moy.", "en": "mean min"},
    "h_reason": {"fr": "raison", "en": "reason"},
    "h_site": {"fr": "site", "en": "site"},
    "h_dep": {"fr": "dép.", "en": "dép."},
    "h_id": {"fr": "id", "en": "id"},
    "h_km2": {"fr": "km²", "en": "km²"},
    "h_pop_study": {"fr": "dont étude", "en": "in the study"},
    "h_pop_outside": {"fr": "dont hors étude", "en": "outside it"},
    "h_date": {"fr": "date", "en": "date"},
    "h_sites": {"fr": "sites", "en": "sites"},
    "h_in_dep": {"fr": "dans le dép.", "en": "in dép."},
    "h_new_sites": {"fr": "nouveaux sites", "en": "new sites"},
    "h_le": {"fr": "≤ {b} min", "en": "<= {b} min"},
    "h_kind": {"fr": "type", "en": "kind"},
    "h_gain": {"fr": "hab. gagnés", "en": "inhab. gained"},
    "h_served": {"fr": "hab. desservis", "en": "inhab. served"},
    "h_resolved": {"fr": "communes résolues", "en": "communes resolved"},
    "h_mean_gain": {"fr": "gain moy. (min)", "en": "mean gain (min)"},
    "h_max_after": {"fr": "min max après", "en": "max min after"},
    "h_takeover": {"fr": "communes reprises", "en": "communes taken"},
    "h_takeover_pop": {"fr": "hab. repris", "en": "inhab. taken"},
    "h_run_by": {"fr": "rattachée à", "en": "run by"},
    "h_access": {"fr": "accessibilité", "en": "accessibility"},
    "h_index": {"fr": "indice", "en": "index"},
    "h_neigh_part": {"fr": "dont voisins", "en": "from neighbours"},
    "h_in_reach": {"fr": "sites à portée", "en": "sites in reach"},
    "h_status": {"fr": "statut", "en": "status"},
    "h_supply": {"fr": "offre", "en": "supply"},
    "h_demand": {"fr": "hab. à portée", "en": "inhab. in reach"},
    "h_demand_out": {"fr": "dont hors zone", "en": "of which outside"},
    "h_ratio": {"fr": "offre / 1 000 hab.", "en": "supply / 1,000 inhab."},
    # words for values
    "kind_principal": {"fr": "principal", "en": "principal"},
    "kind_antenna": {"fr": "antenne", "en": "antenna"},
    "kinds_principal": {"fr": "espace principal|espaces principaux", "en": "principal|principal"},
    "kinds_antenna": {"fr": "antenne|antennes", "en": "antenna|antennas"},
    "status_served": {"fr": "desservie", "en": "served"},
    "status_no_site_in_reach": {"fr": "aucun site à portée", "en": "no site in reach"},
    "status_unreachable": {"fr": "non routée", "en": "not routed"},
    # coverage
    "cov_title": {"fr": "Couverture France Services — {label} : temps de trajet en voiture jusqu'au site le plus "
                        "proche",
                  "en": "France Services coverage — {label}: drive time by car to the nearest site"},
    "cov_communes": {"fr": "Communes   {communes}, {inhabitants} (population municipale INSEE)",
                     "en": "Communes   {communes}, {inhabitants} (INSEE population municipale)"},
    "cov_sites_counted": {"fr": "{n} comptés", "en": "{n} counted"},
    "cov_sites_counted_of": {"fr": "{n} comptés sur {selected} retenus", "en": "{n} counted of {selected} selected"},
    "cov_principal_only": {"fr": "espaces principaux seulement", "en": "principal spaces only"},
    "cov_antennas_in": {"fr": "antennes comprises", "en": "antennas included"},
    "cov_sites": {"fr": "Sites      {counted} ({what}) : {own} dans le département",
                  "en": "Sites      {counted} ({what}): {own} in the département"},
    "cov_nb_ignored": {"fr": ", sites des départements voisins ignorés",
                       "en": ", neighbouring départements' sites ignored"},
    "cov_nb": {"fr": ", {n} dans les départements voisins", "en": ", {n} in neighbouring départements"},
    "cov_as_of": {"fr": "           réseau tel qu'au {date} (sites labellisés à cette date)",
                  "en": "           network as it stood on {date} (sites labelled by then)"},
    "cov_site_issue": {"fr": "           site {id} non compté : {reason}", "en": "           site {id} not counted: {reason}"},
    "cov_method1": {"fr": "Méthode    depuis le point de chaque commune (en général son carrefour principal, voir "
                          "study.json), sur le réseau routier aux vitesses usuelles,",
                    "en": "Method     from each commune's point (usually its main road junction, see "
                          "study.json), over the road network at typical driving speeds,"},
    "cov_method2": {"fr": "           trajets d'approche entre la route et la commune ou le site compris ; toute la "
                          "commune à son point.",
                    "en": "           with the legs between the road and the commune or the site; whole commune at "
                          "its point."},
    "cov_method2_parts": {"fr": "           trajets d'approche entre la route et la commune ou le site compris ; toute la "
                                "commune à son point, sauf :",
                          "en": "           with the legs between the road and the commune or the site; whole commune "
                                "at its point, except:"},
    "cov_parts": {"fr": "           {communes} : un point par partie, pondéré par sa population (temps de la commune : "
                        "moyenne pondérée de ses parties ; chaque habitant compté au temps de sa partie).",
                  "en": "           {communes}: one point per part, weighted by its population (the commune's time: "
                        "the weighted mean of its parts; every inhabitant counted at the time of its part)."},
    "cov_parts_many": {"fr": "{n} communes ({points} points)", "en": "{n} communes ({points} points)"},
    "cov_parts_range": {"fr": "  min d'une commune à plusieurs points : moyenne pondérée (la plus courte – la plus "
                              "longue de ses parties)",
                        "en": "  min of a commune with several points: weighted mean (shortest - longest of its "
                              "parts)"},
    "cov_bands": {"fr": "Habitants selon le temps de trajet jusqu'au site le plus proche",
                  "en": "Inhabitants by drive time to the nearest site"},
    "cov_note_threshold": {"fr": "<- seuil de sous-desserte", "en": "<- under-served threshold"},
    "cov_note_commitment": {"fr": "<- engagement national", "en": "<- national commitment"},
    "cov_per_inhabitant": {"fr": "  Par habitant : moyenne {mean} min, médiane {median}, 9e décile {p90}, "
                                 "maximum {max}",
                           "en": "  Per inhabitant: mean {mean} min, median {median}, 90th percentile {p90}, "
                                 "longest {max}"},
    "cov_met": {"fr": "Engagement national ({c} min pour chaque habitant) : TENU - chaque habitant est à moins de "
                      "{c} minutes.",
                "en": "National commitment ({c} min for every inhabitant): MET - every inhabitant is within {c} "
                      "minutes."},
    "cov_not_met": {"fr": "Engagement national ({c} min pour chaque habitant) : NON TENU - {parts}.",
                    "en": "National commitment ({c} min for every inhabitant): NOT MET - {parts}."},
    "cov_beyond": {"fr": "{inhabitants} dans {communes} au-delà de {c} min",
                   "en": "{inhabitants} in {communes} beyond {c} min"},
    "cov_no_site": {"fr": "{inhabitants} dans {communes} sans site atteignable (voir « non routées » plus bas)",
                    "en": "{inhabitants} in {communes} with no site reachable (see 'unreachable' below)"},
    "cov_threshold": {"fr": "Seuil de sous-desserte {t} min (l'objectif plus fin du département) :",
                      "en": "Under-served threshold {t} min (the département's finer target):"},
    "st_covered": {"fr": "en deçà", "en": "within it"},
    "st_underserved": {"fr": "sous-desservies", "en": "under-served"},
    "st_unreachable": {"fr": "non routées", "en": "unreachable"},
    "cov_under_title": {"fr": "Communes sous-desservies (au-delà de {t} min), les plus urgentes d'abord : habitants "
                              "x minutes au-delà de {t}",
                        "en": "Under-served communes (beyond {t} min), most urgent first: inhabitants x minutes over "
                              "{t}"},
    "cov_more_csv": {"fr": "--format csv liste toutes les communes", "en": "--format csv lists every commune"},
    "cov_zones": {"fr": "  {zones} de communes sous-desservies contiguës (fsgeo underserved) :",
                  "en": "  {zones} of adjacent under-served communes (fsgeo underserved):"},
    "cov_unreachable": {"fr": "Communes non routées (aucun temps calculé)",
                        "en": "Unreachable communes (no drive time computed)"},
    "cov_longest": {"fr": "Temps de trajet les plus longs", "en": "Longest drive times"},
    "cov_access_title": {"fr": "Temps dominés par l'approche (plus de {limit} du trajet) : {communes}, {inhabitants}",
                         "en": "Times dominated by the access leg (over {limit} of the trip): {communes}, {inhabitants}"},
    "cov_access_why": {"fr": "  Leur temps est surtout le trajet du point de la commune jusqu'à la route (ligne droite, "
                             "sans les rues locales) : il dépend du point choisi (fsgeo build --demand-points) plus que "
                             "des routes ; à lire avec prudence.",
                       "en": "  Their time is mostly the leg from the commune's point to the road (a straight line, no "
                             "local streets): it depends on the point chosen (fsgeo build --demand-points) more than "
                             "on the roads; read it with care."},
    "h_access_min": {"fr": "approche", "en": "access"},
    "cov_neighbours": {"fr": "Des sites des départements voisins sont les plus proches pour {inhabitants} ({share}) "
                             "dans {communes}",
                       "en": "Sites of neighbouring départements are the nearest for {inhabitants} ({share}) in "
                             "{communes}"},
    "cov_no_neighbours": {"fr": "Aucune commune n'a son site le plus proche dans un département voisin.",
                          "en": "No commune has its nearest site in a neighbouring département."},
    "cov_areas": {"fr": "Aires de desserte : communes dont c'est le site le plus proche (les plus grandes d'abord)",
                  "en": "Service areas: communes whose nearest site it is (largest first)"},
    "cov_areas_more": {"fr": "  … {n} autres sites (fsgeo catchments --service-areas)",
                       "en": "  ... {n} more sites (fsgeo catchments --service-areas)"},
    "cov_next_rank": {"fr": "Où ouvrir un nouveau site ou une antenne : fsgeo rank --all-communes --threshold {t} "
                            "(ou --candidates FICHIER.csv)",
                      "en": "Where a new site or antenna would help most: fsgeo rank --all-communes --threshold {t} "
                            "(or --candidates FILE.csv)"},
    "cov_footer": {"fr": "Toutes les communes : fsgeo coverage --out communes.gpkg (ou --format csv) ; "
                         "carte : fsgeo map --out carte.html",
                   "en": "Every commune: fsgeo coverage --out communes.gpkg (or --format csv); "
                         "map: fsgeo map --out map.html"},
    # underserved
    "und_title": {"fr": "Communes sous-desservies : site France Services le plus proche au-delà de {t} min en voiture",
                  "en": "Under-served communes: nearest France Services site beyond {t} min by car"},
    "und_count": {"fr": "{communes}, {inhabitants} ; classées par habitants x minutes au-delà de {t}",
                  "en": "{communes}, {inhabitants}; ranked by inhabitants x minutes over {t}"},
    "und_zones": {"fr": "Zones de communes sous-desservies contiguës (où un nouveau site ou une antenne aiderait le "
                        "plus)",
                  "en": "Zones of adjacent under-served communes (where a new site or antenna would help most)"},
    # catchments
    "sa_title": {"fr": "Aires de desserte : les communes dont c'est le site France Services le plus proche",
                 "en": "Service areas: the communes whose nearest France Services site it is"},
    "ca_title1": {"fr": "Zones de chalandise en temps de trajet : habitants des communes (à leur point représentatif) "
                        "depuis lesquelles",
                  "en": "Drive-time catchments: inhabitants of the communes (at their representative point) from "
                        "which a site is"},
    "ca_title2": {"fr": "un site est atteint dans chaque tranche ; {sites}, tranches emboîtées. Polygones : "
                        "--out zones.gpkg",
                  "en": "reached within each band; {sites}, bands nest. Polygons: --out catchments.gpkg"},
    "ca_title_merged": {"fr": "Zones de chalandise fusionnées par tranche : union des zones de {sites}, chaque habitant "
                              "compté une fois",
                        "en": "Catchments merged per band: union of the catchments of {sites}, each inhabitant "
                              "counted once"},
    "ca_population_of": {"fr": "  (population comptée : {what})", "en": "  (population counted: {what})"},
    "ca_no_catchment": {"fr": "  le site {id} n'a pas de zone : {reason}", "en": "  site {id} has no catchment: {reason}"},
    "ca_band": {"fr": "tranche", "en": "band"},
    # timeline
    "tl_title": {"fr": "Comment le réseau France Services s'est densifié — {label}",
                 "en": "How the France Services network got finer — {label}"},
    "tl_sub": {"fr": "couverture à chaque date de labellisation des sites du département ({inhabitants})",
               "en": "coverage at each labellisation date of the département's sites ({inhabitants})"},
    "tl_neighbouring": {"fr": "+{n} voisins", "en": "+{n} neighbouring"},
    "tl_note": {"fr": "  parts = habitants dans la tranche ; sites = tous ceux comptés (départements voisins compris)",
                "en": "  shares = inhabitants within the band; sites = all counted (neighbouring départements "
                      "included)"},
    # rank
    "rk_title": {"fr": "fsgeo rank : {model}", "en": "fsgeo rank: {model}"},
    "rk_k": {"fr": ", k = {k}", "en": ", k = {k}"},
    "rk_threshold": {"fr": ", seuil {t} min", "en": ", threshold {t} min"},
    "rk_as_of": {"fr": ", sites au {date}", "en": ", sites as of {date}"},
    "rk_inputs": {"fr": "{candidates} routés, {communes}, {inhabitants} ; {within} à moins de {t} min des sites "
                        "existants",
                  "en": "{candidates} routed, {communes}, {inhabitants}; {within} within {t} min of the existing "
                        "sites"},
    "rk_objective": {"fr": "Objectif ({what}) : {value} (sites existants seuls : {baseline}) ; statut {status}",
                     "en": "Objective ({what}): {value} (existing sites alone: {baseline}); status {status}"},
    "rk_objective_lscp": {"fr": "Objectif ({what}) : {value} ; statut {status}",
                          "en": "Objective ({what}): {value}; status {status}"},
    "rk_greedy_cover": {"fr": "Recouvrement glouton", "en": "Greedy set cover"},
    "rk_greedy_same_k": {"fr": "Glouton avec le même k", "en": "Greedy with the same k"},
    "rk_gap": {"fr": "{what} : {value} (écart {gap}{pct})", "en": "{what}: {value} (gap {gap}{pct})"},
    "rk_note": {"fr": "Note du solveur : {message}", "en": "Note: {message}"},
    "rk_restricted": {
        "fr": "Instance restreinte (même optimum) : {communes} au-delà du seuil à portée d’un candidat, "
              "{candidates} qui en rapprochent au moins une, {pairs} couples ; temps moyens, maximums et reprises "
              "non calculés (n.d.)",
        "en": "Restricted instance (same optimum): {communes} beyond the threshold within reach of a candidate, "
              "{candidates} bringing at least one within it, {pairs} pairs; mean and maximum times and takeovers "
              "not computed (n/a)"},
    "rk_chosen": {"fr": "Nouveaux sites choisis (gains marginaux, dans cet ordre) :",
                  "en": "Chosen new sites (gains are marginal, in this order):"},
    "rk_fewer": {"fr": "Seuls {n} améliorent l'objectif ; d'autres n'y changeraient rien.",
                 "en": "Only {n} improve the objective; more would not change it."},
    "rk_none": {"fr": "Aucun nouveau site choisi : aucun candidat n'améliore l'objectif.",
                "en": "No new site chosen: no candidate improves the objective."},
    "rk_none_all_within": {"fr": "Aucun nouveau site choisi : toutes les communes que les candidats peuvent "
                                 "rapprocher sont déjà à moins de {t} min d'un site existant.",
                           "en": "No new site chosen: every commune the candidates could bring closer is already "
                                 "within {t} min of an existing site."},
    "rk_matter_below": {"fr": "Les candidats comptent pour un seuil inférieur à {t} min ({commune} : {before} min "
                              "aujourd'hui, {after} min depuis un candidat) ; essayez --threshold {suggest}.",
                        "en": "The candidates start to matter below a threshold of {t} min ({commune}: {before} min "
                              "today, {after} min from a candidate); try --threshold {suggest}."},
    "rk_never_matter": {"fr": "Aucun candidat n'est plus proche d'une commune que les sites existants, quel que soit "
                              "le seuil.",
                        "en": "No candidate is closer to any commune than the existing sites, whatever the "
                              "threshold."},
    "rk_no_antenna_parent": {"fr": "aucun espace principal atteignable", "en": "no principal space reachable"},
    "rk_candidates": {"fr": "Candidats pris isolément, les meilleurs d'abord ({n} sur {total} ; --format csv ou json "
                            "pour tous) :",
                      "en": "Candidates on their own, best first ({n} of {total}; --format csv or json for all):"},
    "rk_unplaced": {"fr": "Candidats non placés sur le réseau routier ({n}), écartés :",
                    "en": "Candidates not placed on the road network ({n}), left out:"},
    "rk_excluded": {"fr": "Communes que le modèle ne peut pas aider ({n}{more}) :",
                    "en": "Communes the model could not help ({n}{more}):"},
    "rk_first_listed": {"fr": ", les {n} premières listées ; --format csv ou json pour toutes",
                        "en": ", first {n} listed; --format csv or json for all"},
    "model_greedy": {"fr": "heuristique gloutonne", "en": "greedy heuristic"},
    "model_mclp": {"fr": "couverture maximale (exact, HiGHS)", "en": "maximal covering (exact, HiGHS)"},
    "model_lscp": {"fr": "recouvrement d'ensemble (exact, HiGHS)", "en": "set covering (exact, HiGHS)"},
    "model_pmedian": {"fr": "p-médiane (exact, HiGHS)", "en": "p-median (exact, HiGHS)"},
    "model_pcenter": {"fr": "p-centre (exact, HiGHS)", "en": "p-center (exact, HiGHS)"},
    "obj_population_within_threshold": {"fr": "habitants à moins de {t} min", "en": "population within {t} min"},
    "obj_total_weighted_minutes": {"fr": "total des minutes pondérées par la population",
                                   "en": "total population-weighted minutes"},
    "obj_max_minutes": {"fr": "temps maximal jusqu'au site le plus proche, min",
                        "en": "maximum minutes to the nearest site"},
    "obj_new_sites": {"fr": "nouveaux sites nécessaires pour que chaque commune atteignable soit à moins de {t} min",
                      "en": "new sites needed so that every coverable commune is within {t} min"},
    "solver_optimal": {"fr": "optimal", "en": "optimal"},
    "solver_heuristic": {"fr": "heuristique", "en": "heuristic"},
    "solver_time_limit": {"fr": "limite de temps (meilleure solution trouvée)", "en": "time_limit"},
    "solver_infeasible": {"fr": "infaisable", "en": "infeasible"},
    "greedy_coverage": {"fr": "couverture", "en": "coverage"},
    "greedy_pmedian": {"fr": "p-médiane", "en": "p-median"},
    "greedy_pcenter": {"fr": "p-centre", "en": "p-center"},
    "parent_declared": {"fr": "déclaré", "en": "declared"},
    "parent_nearest": {"fr": "le plus proche", "en": "nearest"},
    # accessibility
    "ac_method_2sfca": {"fr": "2SFCA classique (Luo & Wang 2003)", "en": "classic 2SFCA (Luo & Wang 2003)"},
    "ac_method_e2sfca": {"fr": "2SFCA amélioré (Luo & Qi 2009)", "en": "enhanced 2SFCA (Luo & Qi 2009)"},
    "ac_method_gaussian": {"fr": "2SFCA gaussien (Dai 2010)", "en": "Gaussian 2SFCA (Dai 2010)"},
    "ac_title": {"fr": "fsgeo accessibility : {method}, zone de chalandise {t} min",
                 "en": "fsgeo accessibility: {method}, catchment {t} min"},
    "ac_principal_only": {"fr": ", espaces principaux seulement", "en": ", principal spaces only"},
    "ac_own_only": {"fr": ", département seul", "en": ", own département only"},
    "ac_weights": {"fr": "Pondération : {w}", "en": "Weights: {w}"},
    "ac_sites": {"fr": "{sites}{split}, {communes}, {inhabitants} ; offre totale {supply} {unit}",
                 "en": "{sites}{split}, {communes}, {inhabitants}; total supply {supply} {unit}"},
    "ac_split": {"fr": " ({own} dans le département, {nb} voisins)", "en": " ({own} in the département, {nb} neighbouring)"},
    "ac_outside": {"fr": "Demande extérieure : {communes} des départements voisins, {inhabitants}, comptées dans les "
                         "zones des sites : {in_reach} à portée d'un site, qui prennent {supply} {unit}{not_routed}",
                   "en": "Outside demand: {communes} of neighbouring départements, {inhabitants}, counted in the "
                         "sites' catchments: {in_reach} of them within reach of a site, taking {supply} {unit}"
                         "{not_routed}"},
    "ac_not_routed": {"fr": " ; {communes} sans itinéraire ({inhabitants})",
                      "en": "; {communes} not routed ({inhabitants})"},
    "ac_no_outside": {"fr": "Demande extérieure : aucune (seuls les habitants des communes étudiées comptent dans les "
                            "zones des sites)",
                      "en": "Outside demand: none (only the inhabitants of the communes studied count in the sites' "
                            "catchments)"},
    "ac_def": {"fr": "Accessibilité = {unit} à portée", "en": "Accessibility = {unit} within reach"},
    "ac_stats": {"fr": "  moyenne pondérée par la population {mean}, médiane {median}, 1er décile {p10}, "
                       "9e décile {p90}",
                 "en": "  population-weighted mean {mean}, median {median}, 10th percentile {p10}, 90th percentile "
                       "{p90}"},
    "ac_range": {"fr": "  commune la plus basse {min}, la plus haute {max}", "en": "  lowest commune {min}, highest {max}"},
    "ac_neighbour_share": {"fr": "  {share} dus aux {n} sites des départements voisins",
                           "en": "  {share} of it owed to the {n} sites of neighbouring départements"},
    "ac_neighbour_optimistic": {"fr": ", dont les habitants ne sont pas comptés (optimiste : voir la note)",
                                "en": ", whose own inhabitants are not counted (optimistic: see the note)"},
    "ac_no_site": {"fr": "  communes sans site à moins de {t} min (accessibilité 0) : {communes} ({inhabitants})",
                   "en": "  communes with no site within {t} min (accessibility 0): {communes} ({inhabitants})"},
    "ac_unrouted": {"fr": "  communes non routées (accessibilité 0) : {communes} ({inhabitants})",
                    "en": "  communes not routed (accessibility 0): {communes} ({inhabitants})"},
    "ac_lowest": {"fr": "Accessibilité la plus faible ({n} sur {total} communes ; --format csv ou json pour toutes) :",
                  "en": "Lowest accessibility ({n} of {total} communes; --format csv or json for all):"},
    "ac_why": {"fr": "Pourquoi :", "en": "Why:"},
    "ac_loaded": {"fr": "Sites les plus chargés : offre la plus faible pour 1 000 habitants à portée ({n} sur "
                        "{total}) :",
                  "en": "Most loaded sites: lowest supply per 1,000 inhabitants within reach ({n} of {total}):"},
    "ac_useless": {"fr": "Sites n'apportant rien aux communes étudiées ({n}{more}) :",
                   "en": "Sites giving nothing to the communes studied ({n}{more}):"},
    "ac_first_n": {"fr": ", les {n} premiers listés", "en": ", first {n} listed"},
    "ac_useless_why": {"fr": "aucune commune étudiée à moins de {t} min (demande extérieure à portée : {n})",
                       "en": "no commune studied within {t} min (outside demand within reach: {n})"},
    "ac_note_outside": {"fr": "Note : les habitants des communes voisines à moins de 30 km de la limite partagent "
                              "l'offre des sites (étape 1) mais n'ont pas de ligne ici. La demande plus lointaine "
                              "(au-delà du réseau embarqué) ou dans des départements non voisins n'est pas comptée : "
                              "les sites dont la zone porte aussi loin restent un peu optimistes ; "
                              "--no-outside-demand montre l'effet de bord non corrigé.",
                        "en": "Note: the inhabitants of the neighbouring communes within 30 km of the boundary share "
                              "the sites' supply (step 1) but get no row here. Demand farther away (beyond the "
                              "embedded network) or in départements that are not neighbours is not counted, so sites "
                              "whose catchment reaches that far remain slightly optimistic; --no-outside-demand shows "
                              "the uncorrected edge effect."},
    "ac_note_border": {"fr": "Note : les sites proches de la limite servent aussi des habitants hors des communes "
                             "étudiées, non comptés ici : leurs ratios et l'accessibilité des communes frontalières "
                             "qui les utilisent sont optimistes (colonne accessibility_neighbours en csv/json pour "
                             "les sites des autres départements){hint}.",
                       "en": "Note: sites near the boundary also serve inhabitants outside the communes studied, not "
                             "counted here, so their ratios and the accessibility of the border communes using them "
                             "are optimistic (column accessibility_neighbours in csv/json for the sites of other "
                             "départements){hint}."},
    "ac_note_hint": {"fr": " ; retirez --no-outside-demand pour les compter", "en": "; drop --no-outside-demand to count them"},
    # datasets
    "ds_sites": {"fr": "Sites : {path}", "en": "Sites: {path}"},
    "ds_structures": {"fr": "  {n} structures{of}", "en": "  {n} structures{of}"},
    "ds_of_file": {"fr": " (sur {n} dans le fichier)", "en": " (of {n} in the file)"},
    "ds_as_of": {"fr": "  au {date} : seules les structures labellisées à cette date",
                 "en": "  as of {date}: only structures labelled on or before that date"},
    "ds_in_dep": {"fr": "  dans {dep} : {n}{kinds}", "en": "  in {dep}: {n}{kinds}"},
    "ds_study": {"fr": "Étude : {name} ({dep} {codes}) : {path}", "en": "Study: {name} ({dep} {codes}): {path}"},
    "departement": {"fr": "département|départements", "en": "département|départements"},
    "ds_study_neighbours": {"fr": "  départements voisins : {x}", "en": "  neighbouring départements: {x}"},
    "ds_crs": {"fr": "  CRS métrique : {crs}", "en": "  metric CRS: {crs}"},
    "ds_net_source": {"fr": " ; réseau routier : {x}", "en": "; road network: {x}"},
    "ds_no_net": {"fr": " ; pas de réseau routier", "en": "; no road network"},
    "ds_source": {"fr": "  source : {x} ({date})", "en": "  source: {x} ({date})"},
    "ds_undated_source": {"fr": "sans date", "en": "undated"},
    "ds_neighbours": {"fr": "  dans les départements voisins : {n}{per}", "en": "  in neighbouring départements: {n}{per}"},
    "ds_by_kind": {"fr": "  par type : {x}", "en": "  by kind: {x}"},
    "ds_by_format": {"fr": "  par format : {x}", "en": "  by format: {x}"},
    "ds_labelled": {"fr": "  labellisées du {a} au {b}{undated}", "en": "  labelled from {a} to {b}{undated}"},
    "ds_undated": {"fr": " ({n} sans date)", "en": " ({n} undated)"},
    "ds_hours": {"fr": "  ouverture médiane : {h} h/semaine", "en": "  median opening time: {h} h/week"},
    "ds_communes": {"fr": "Communes : {path}", "en": "Communes: {path}"},
    "ds_communes_line": {"fr": "  {communes} ({deps}), population {population}, superficie {area} km²",
                         "en": "  {communes} ({deps}), population {population}, area {area} km²"},
    "ds_network": {"fr": "Réseau routier : {path}", "en": "Road network: {path}"},
    "ds_network_line": {"fr": "  {nodes} nœuds, {edges} arcs orientés, {km} km de routes",
                        "en": "  {nodes} nodes, {edges} directed edges, {km} km of road"},
    "ds_main": {"fr": "  composante connexe principale : {n} nœuds sur {total}",
                "en": "  main connected component: {n} of {total} nodes"},
    "ds_by_class": {"fr": "  arcs orientés par classe : {x}", "en": "  directed edges by class: {x}"},
    "ds_unavailable": {"fr": "  indisponible : {reason}", "en": "  not available: {reason}"},
    # provenance footer
    "prov_title": {"fr": "Sources et paramètres", "en": "Sources and parameters"},
    "prov_generated": {"fr": "fsgeo {version}, généré le {date}", "en": "fsgeo {version}, generated on {date}"},
    "prov_study": {"fr": "Étude : {name}", "en": "Study: {name}"},
    "prov_source": {"fr": "  {name} ({date})", "en": "  {name} ({date})"},
    "prov_network": {"fr": "Réseau : {x}", "en": "Network: {x}"},
    "prov_circuity": {"fr": "circuité {v}", "en": "circuity {v}"},
    "prov_connector_speed_kmh": {"fr": "approche à {v} km/h", "en": "access legs at {v} km/h"},
    "prov_snap_detour_factor": {"fr": "détour d'approche {v}", "en": "access detour {v}"},
    "prov_max_snap_m": {"fr": "approche max. {v} m", "en": "access at most {v} m"},
    "prov_direct_leg_max_m": {"fr": "trajets directs jusqu'à {v} m", "en": "direct legs up to {v} m"},
    "prov_params": {"fr": "Seuil {t} min, tranches {bands} min", "en": "Threshold {t} min, bands {bands} min"},
    "prov_threshold": {"fr": "Seuil {t} min", "en": "Threshold {t} min"},
    "prov_bands": {"fr": "Tranches {bands} min", "en": "Bands {bands} min"},
    "prov_other": {"fr": "Paramètres : {x}", "en": "Parameters: {x}"},
    "prov_command": {"fr": "Commande : {cmd}", "en": "Command: {cmd}"},
    # map command
    "map_wrote": {"fr": "écrit {path} ({mb} Mo) : {parts}", "en": "wrote {path} ({mb} MB): {parts}"},
    "map_communes": {"fr": "{communes} ({under} sous-desservie(s), {unr} non routée(s) à {t} min)",
                     "en": "{communes} ({under} under-served, {unr} unreachable at {t} min)"},
    "map_catch": {"fr": "{n} polygones de zones de chalandise", "en": "{n} catchment polygons"},
    "map_cands": {"fr": "{n} candidats, {k} choisis", "en": "{n} candidates, {k} chosen"},
    # national report (fsgeo.national.text_report)
    "nat_title": {"fr": "Couverture France services{when} : {communes} communes, {inhabitants} habitants, {sites} "
                        "sites ({routed} placés sur le réseau routier)",
                  "en": "France Services coverage{when}: {communes} communes, {inhabitants} inhabitants, {sites} "
                        "sites ({routed} placed on the road network)"},
    "nat_as_of": {"fr": " au {date}", "en": " on {date}"},
    "nat_parts": {"fr": "Un point par commune, sauf {communes} : un point par partie, pondéré par sa population "
                        "(chaque habitant compté au temps de sa partie).",
                  "en": "One point per commune, except {communes}: one point per part, weighted by its population "
                        "(every inhabitant counted at the time of its part)."},
    "nat_bands": {"fr": "Part des habitants à moins de :", "en": "Share of inhabitants within:"},
    "nat_band": {"fr": "  {band} min : {share}  ({inhabitants} habitants)",
                 "en": "  {band} min: {share}  ({inhabitants} inhabitants)"},
    "nat_times": {"fr": "Temps d'accès pondéré par la population : moyen {mean} min, médian {median} min, 90e centile "
                        "{p90} min, maximum {max} min",
                  "en": "Population-weighted drive time: mean {mean} min, median {median} min, 90th percentile {p90} "
                        "min, maximum {max} min"},
    "nat_unreachable": {"fr": "Habitants dont le temps n'a pas pu être calculé (non joignables) : {inhabitants}",
                        "en": "Inhabitants whose time could not be computed (unreachable): {inhabitants}"},
    "nat_met": {"fr": "Engagement de l'État ({c} min) : tenu pour tous les habitants",
                "en": "State commitment ({c} min): met for every inhabitant"},
    "nat_not_met": {"fr": "Engagement de l'État ({c} min) : non tenu ; {beyond} habitants au-delà de {c} min "
                          "({communes} communes) et {unreachable} habitants non joignables",
                    "en": "State commitment ({c} min): not met; {beyond} inhabitants beyond {c} min ({communes} "
                          "communes) and {unreachable} inhabitants unreachable"},
    "nat_met_in": {"fr": "Engagement tenu dans {k} département(s) sur {n}",
                   "en": "Commitment met in {k} of {n} département(s)"},
    "nat_more_json": {"fr": "--format json les liste toutes, avec leur département",
                      "en": "--format json lists them all, with their département"},
    "nat_by_departement": {"fr": "Par département", "en": "By département"},
    "nat_by_region": {"fr": "Par région", "en": "By region"},
    "nat_h_name": {"fr": "nom", "en": "name"},
    "nat_h_inhabitants": {"fr": "habitants", "en": "inhabitants"},
    "nat_h_mean": {"fr": "moy.", "en": "mean"},
    "nat_h_worst": {"fr": "pire commune", "en": "worst commune"},
    "nat_h_commitment": {"fr": "engag.", "en": "met"},
    "nat_yes": {"fr": "oui", "en": "yes"},
    "nat_no": {"fr": "non", "en": "no"},
}


class Text:
    """The catalogue in one language: ``T = Text("fr"); T("cov_met", c="30")``, ``T.count(3, "commune")``."""

    def __init__(self, lang: str | None = None):
        self.lang = check_lang(lang)

    def __call__(self, key: str, **fields) -> str:
        return MESSAGES[key][self.lang].format(**fields)

    def word(self, key: str, n: float) -> str:
        """Singular or plural of a ``"singular|plural"`` entry for ``n`` (French: singular for 0 and 1)."""
        one, many = MESSAGES[key][self.lang].split("|")
        n = abs(float(n)) if not _missing(n) else 2.0
        return one if (n < 2 if self.lang == "fr" else n == 1) else many

    def count(self, n, key: str, digits: int = 0) -> str:
        """``n`` formatted, then the word agreeing with it: ``"1 commune"``, ``"233 185 habitants"``."""
        return f"{self.num(n, digits)} {self.word(key, n)}"

    def num(self, value, digits: int = 0) -> str:
        return number(value, digits, self.lang)

    def pct(self, share, digits: int = 1) -> str:
        return percent(share, digits, self.lang)

    def min(self, value) -> str:
        return minutes(value, self.lang)

    def g(self, value) -> str:
        """A parameter (threshold, band) as written by the user: ``20``, ``7,5``."""
        text = f"{float(value):g}"
        return text.replace(".", ",") if self.lang == "fr" else text


# --------------------------------------------------------------------------------------------------------------------
# tables
# --------------------------------------------------------------------------------------------------------------------
def _blank(value) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def cut(text, width: int) -> str:
    """``text`` cut to ``width`` characters with an ellipsis."""
    text = "" if _blank(text) else str(text)
    return text if len(text) <= width else text[: width - 1] + "…"


def table(header, rows, aligns: str, max_widths=None, indent: str = "  ") -> list[str]:
    """Aligned plain-text table: ``aligns`` one ``l``/``r`` per column; widths fit the content, capped by
    ``max_widths`` (cells cut with an ellipsis)."""
    rows = [["" if _blank(v) else str(v) for v in r] for r in rows]
    n = len(header)
    caps = list(max_widths) if max_widths is not None else [60] * n
    widths = [min(caps[i], max([len(str(header[i]))] + [len(r[i]) for r in rows])) for i in range(n)]
    fmt = indent + "  ".join(f"{{:{'<' if a == 'l' else '>'}{w}}}" for w, a in zip(widths, aligns))
    out = [fmt.format(*[cut(h, w) for h, w in zip(header, widths)]).rstrip()]
    out += [fmt.format(*[cut(v, w) for v, w in zip(r, widths)]).rstrip() for r in rows]
    return out


@dataclass(frozen=True)
class Column:
    """One column of a report table.

    ``header`` is a message key (``"h_code"``, said in the report's language) or the header text itself; ``value``
    the row's attribute or key (``"population"``) or a function of the row; ``align`` ``"l"`` or ``"r"``;
    ``width`` the widest the column may be (longer cells are cut with an ellipsis); ``fmt`` how the value is
    written: a name of :data:`CELL_FORMATS` (``"num"``, ``"num1"``, ``"num2"``, ``"min"``, ``"pct"``, ``"site"``),
    a function ``(value, T) -> str``, or None (as is).
    """

    header: str
    value: str | Callable
    align: str = "l"
    width: int = 60
    fmt: str | Callable | None = None

    def but(self, **changes) -> "Column":
        """The same column with other settings (``CODE.but(width=6)``)."""
        return replace(self, **changes)


#: how :class:`Column` cells are written, by name
CELL_FORMATS: dict[str, Callable] = {
    "num": lambda v, T: T.num(v),
    "num1": lambda v, T: T.num(v, 1),
    "num2": lambda v, T: T.num(v, 2),
    "min": lambda v, T: T.min(v),
    "pct": lambda v, T: T.pct(v),
    "site": lambda v, T: short_site(v),
}


def _cell(row, column: Column, T: "Text"):
    if callable(column.value):
        value = column.value(row)
    elif isinstance(row, dict) or not hasattr(row, "_fields"):  # a dict, a pandas row (iterrows)
        value = row[column.value]
    else:  # a named tuple (itertuples)
        value = getattr(row, column.value)
    fmt = CELL_FORMATS[column.fmt] if isinstance(column.fmt, str) else column.fmt
    return value if fmt is None else fmt(value, T)


def render(T: "Text", columns, rows, indent: str = "  ") -> list[str]:
    """The lines of a report table: one :class:`Column` per column, ``rows`` any iterable of named tuples
    (``itertuples``), dicts (``to_dict("records")``) or pandas rows; headers in ``T``'s language (:func:`table`
    lays them out)."""
    columns = list(columns)
    header = [T(c.header) if c.header in MESSAGES else c.header for c in columns]
    cells = [[_cell(row, c, T) for c in columns] for row in rows]
    return table(header, cells, "".join(c.align for c in columns), [c.width for c in columns], indent)


# the columns several reports share
CODE = Column("h_code", "code", width=5)
COMMUNE = Column("h_commune", "name", width=24)
INHAB = Column("h_inhab", "population", "r", 9, "num")
MINUTES = Column("h_min", "minutes", "r", 6, "min")
RANK = Column("h_rank", "rank", "r", 4)
REASON = Column("h_reason", "reason", width=80)
DEP = Column("h_dep", "departement", width=4)
N_COMMUNES = Column("h_communes", "n_communes", "r", 8)
MEAN_MIN = Column("h_mean_min", "mean_minutes", "r", 8, "min")
MAX_MIN = Column("h_max_min", "max_minutes", "r", 7, "min")
#: communes with no drive time (coverage and underserved reports)
UNREACHABLE_COLUMNS = (CODE, COMMUNE, INHAB, REASON.but(fmt=lambda reason, T: reason_text(reason, T)))
#: zones of under-served communes (coverage report; the underserved report adds their area)
ZONE_COLUMNS = (Column("h_zone", "zone_id", "r", 4), N_COMMUNES, INHAB, MAX_MIN, Column("h_communes", "names"))


def short_site(name) -> str:
    """A site's name without its "France services" prefix."""
    name = "" if _blank(name) else str(name)
    for prefix in ("France services de la ", "France services de l'", "France services de ", "France services d'",
                   "France services "):
        if name.startswith(prefix):
            return name[len(prefix):]
    return name


def _letters(text) -> str:
    text = unicodedata.normalize("NFKD", str(text))
    return "".join(ch for ch in text.lower() if ch.isalpha())


def site_labels(sites) -> dict:
    """Short label of every site id: its name without "France services", plus its commune when not in the name."""
    out = {}
    communes = sites["commune_name"] if "commune_name" in sites.columns else [""] * len(sites)
    for ident, name, commune in zip(sites["id"].astype(str), sites["name"], communes):
        label = short_site(name)
        commune = "" if _blank(commune) else str(commune)
        if commune and _letters(commune) not in _letters(label):
            label = f"{label} ({commune})"
        out[ident] = label
    return out


def commune_label(code, names: dict | None) -> str:
    """``"70523 Vars"``: an INSEE code with its commune name when known."""
    code = "" if _blank(code) else str(code)
    name = (names or {}).get(code)
    return f"{code} {name}" if name else code


# --------------------------------------------------------------------------------------------------------------------
# provenance footer
# --------------------------------------------------------------------------------------------------------------------
def provenance_footer(provenance: dict | None, lang: str | None = None) -> list[str]:
    """The lines that say where a report comes from (see :func:`fsgeo.export.provenance`); empty without one."""
    if not provenance:
        return []
    T = Text(lang)
    lines = ["", T("prov_title"), T("prov_generated", version=provenance.get("fsgeo_version", "?"),
                                      date=provenance.get("generated", "?"))]
    study = provenance.get("study") or {}
    if study.get("name"):
        lines.append(T("prov_study", name=study["name"]))
    for src in study.get("sources", []) or []:
        lines.append(T("prov_source", name=src.get("title") or src.get("name") or src.get("id", "?"),
                       date=src.get("date") or T("ds_undated_source")))
    net = provenance.get("network") or {}
    if net:
        parts = [study.get("network_source") or ""] if study.get("network_source") else []
        parts += [T(f"prov_{k}", v=T.num(net[k]) if net[k] >= 1000 else T.g(net[k])) for k in ("circuity", "connector_speed_kmh", "snap_detour_factor",
                                                          "max_snap_m", "direct_leg_max_m") if net.get(k) is not None]
        lines.append(T("prov_network", x=", ".join(parts)))
    params = provenance.get("parameters") or {}
    bands = ", ".join(T.g(b) for b in params.get("bands_min") or [])
    if params.get("threshold_min") is not None:
        lines.append(T("prov_params", t=T.g(params["threshold_min"]), bands=bands) if bands
                     else T("prov_threshold", t=T.g(params["threshold_min"])))
    elif bands:
        lines.append(T("prov_bands", bands=bands))
    # the other parameters by their stable names (the ones of the JSON), as given
    other = {k: v for k, v in params.items() if k not in _FOOTER_PARAMS and v not in (None, "", [], False)}
    if other:
        lines.append(T("prov_other", x=", ".join(f"{k} = {_param_text(v, T)}" for k, v in other.items())))
    if provenance.get("command"):
        lines.append(T("prov_command", cmd=provenance["command"]))
    return lines


#: parameters the footer says in words (or leaves to the report's own text); the others are listed by name
_FOOTER_PARAMS = {"threshold_min", "bands_min", "commitment_min", "population_of"}


def _param_text(value, T: Text) -> str:
    if isinstance(value, bool):
        return "oui" if value and T.lang == "fr" else ("non" if T.lang == "fr" else str(value).lower())
    if isinstance(value, (int, float)):
        return T.g(value)
    if isinstance(value, (list, tuple)):
        return "/".join(_param_text(v, T) for v in value)
    return str(value)


def _finish(lines: list[str], provenance=None, lang=None) -> str:
    return "\n".join(lines + provenance_footer(provenance, lang)).rstrip("\n") + "\n"


# --------------------------------------------------------------------------------------------------------------------
# fsgeo coverage
# --------------------------------------------------------------------------------------------------------------------
def parts_listing(access, T: Text) -> str | None:
    """The communes with several demand points (``n_points`` > 1), e.g. ``"Paris (20 points), Marseille (16 points)
    et Lyon (9 points)"``, their count beyond 5; None when there are none."""
    if "n_points" not in access.columns or not (access["n_points"] > 1).any():
        return None
    multi = access[access["n_points"] > 1]
    if len(multi) > 5:
        return T("cov_parts_many", n=T.num(len(multi)), points=T.num(int(multi["n_points"].sum())))
    names = [f"{r.name} ({r.n_points} points)" for r in multi.itertuples()]
    return ", ".join(names[:-1]) + (f" {'et' if T.lang == 'fr' else 'and'} " if len(names) > 1 else "") + names[-1]


def _method_points(access, T: Text) -> list[str]:
    """The method's second line: every commune at its point, or (demand parts) which communes have several."""
    listed = parts_listing(access, T)
    return [T("cov_method2")] if listed is None else [T("cov_method2_parts"), T("cov_parts", communes=listed)]


def _minutes_range(row, T: Text) -> str:
    """A commune's minutes; with several points ``"moy. (min–max)"``, e.g. ``"3,4 (1,2–6,8)"``."""
    if getattr(row, "n_points", 1) > 1 and math.isfinite(float(row.minutes_min)):
        return f"{T.min(row.minutes)} ({T.min(row.minutes_min)}–{T.min(row.minutes_max)})"
    return T.min(row.minutes)


def _partly_unreachable(access):
    """Mask (a boolean Series like ``access``'s rows): communes with parts that have a time although some of their
    parts have none."""
    if "n_points" not in access.columns:
        return access["status"] != access["status"]
    return ((access["n_points"] > 1) & (access["status"] != "unreachable")
            & access["reason"].astype(str).str.contains(" points unreachable: ", regex=False))


def coverage_report(access, summ, areas=None, *, label: str = "", top: int = 10, labels: dict | None = None,
                    zones=None, lang: str | None = None, provenance: dict | None = None) -> str:
    """The coverage report of ``fsgeo coverage``.

    Parameters
    ----------
    access : pandas.DataFrame
        :func:`fsgeo.coverage.access_times` result (with geometry for the zones of under-served communes).
    summ : fsgeo.coverage.CoverageSummary
        :func:`fsgeo.coverage.summary` of it.
    areas : pandas.DataFrame, optional
        :func:`fsgeo.catchments.service_areas` (``dissolve=False``), listed largest first.
    label : str
        The place studied, e.g. ``"Haute-Saône (70)"``.
    top : int
        Rows listed per table.
    labels : dict, optional
        Site id -> display name (:func:`site_labels`).
    zones : geopandas.GeoDataFrame, optional
        :func:`fsgeo.coverage.underserved_zones`; computed from ``access`` when it has geometry.
    lang : {"fr", "en"}, optional
        Default :func:`default_lang` (French).
    provenance : dict, optional
        Footer (:func:`fsgeo.export.provenance`).
    """
    from fsgeo import coverage

    T = Text(lang)
    labels = labels or {}

    def site(ident, name):
        return labels.get(str(ident), short_site(name))

    meta = summ.meta
    thr, com = summ.threshold_min, summ.commitment_min
    lines = []
    title = T("cov_title", label=label)
    lines += [title, "=" * len(title)]
    lines.append(T("cov_communes", communes=T.count(summ.n_communes, "commune"),
                   inhabitants=T.count(summ.population, "inhabitant")))
    n_own, n_nb = meta.get("n_sites_own", 0), meta.get("n_sites_neighbour", 0)
    what = T("cov_principal_only") if meta.get("kind") == "principal" else T("cov_antennas_in")
    n_sites = meta.get("n_sites", 0)
    n_routed = meta.get("n_sites_routed", n_sites)
    counted = T("cov_sites_counted_of", n=n_routed, selected=n_sites) if n_routed < n_sites \
        else T("cov_sites_counted", n=n_sites)
    sites_line = T("cov_sites", counted=counted, what=what, own=n_own)
    sites_line += T("cov_nb_ignored") if meta.get("own_departement_only") else T("cov_nb", n=n_nb)
    lines.append(sites_line)
    if meta.get("as_of"):
        lines.append(T("cov_as_of", date=meta["as_of"]))
    for issue in meta.get("site_issues", []):
        lines.append(T("cov_site_issue", id=issue["id"], reason=issue["reason"]))
    lines += [T("cov_method1")] + _method_points(access, T) + [""]

    lines.append(T("cov_bands"))

    def note(r):
        if abs(r.band_min - thr) < 1e-9:
            return T("cov_note_threshold")
        return T("cov_note_commitment") if abs(r.band_min - com) < 1e-9 else ""

    lines += render(T, [Column("h_within", lambda r: f"{T.g(r.band_min)} min"),
                        Column("h_inhabitants", "population", "r", fmt="num"),
                        Column("h_share", "population_share", "r", fmt="pct"),
                        Column("h_communes", "communes", "r", fmt="num"),
                        Column("h_share", "commune_share", "r", fmt="pct"), Column("", note)],
                    summ.bands.itertuples())
    worst_name = summ.worst["name"].iloc[0] if len(summ.worst) else ""
    lines.append(T("cov_per_inhabitant", mean=T.min(summ.mean_min), median=T.min(summ.median_min),
                   p90=T.min(summ.p90_min), max=T.min(summ.max_min)) + (f" ({worst_name})" if worst_name else ""))
    lines.append("")

    c = T.g(com)
    if summ.commitment_met:
        lines.append(T("cov_met", c=c))
    else:
        parts = []
        if summ.commitment_population_beyond:
            parts.append(T("cov_beyond", inhabitants=T.count(summ.commitment_population_beyond, "inhabitant"),
                           communes=T.count(summ.commitment_communes_beyond, "commune"), c=c))
        # communes with inhabitants no site reaches (a commune with parts: any of its parts)
        demand = coverage.demand_rows(access)
        n_unr = int(demand.loc[~demand["minutes"].map(math.isfinite), "code"].nunique())
        if n_unr:
            parts.append(T("cov_no_site", inhabitants=T.count(summ.unreachable_population, "inhabitant"),
                           communes=T.count(n_unr, "commune")))
        lines.append(T("cov_not_met", c=c, parts="; ".join(parts)))
    st = summ.status
    lines.append(T("cov_threshold", t=T.g(thr)))
    words = [(key, T(f"st_{key}")) for key in ("covered", "underserved", "unreachable")]
    width = max(len(w) for _, w in words) + 1
    for key, word in words:
        n, p = st.loc[key, "communes"], st.loc[key, "population"]
        lines.append(f"  {word:<{width}}{T.num(n):>4} {T.word('commune', n):<9}{T.num(p):>9} "
                     f"{T.word('inhabitant', p):<12}{T.pct(st.loc[key, 'population_share']):>8}")
    lines.append("")

    under = coverage.underserved(access, thr)
    t = T.g(thr)
    lines.append(T("cov_under_title", t=t))
    nearest = Column("h_nearest", lambda r: site(r.nearest_site_id, r.nearest_site_name), width=40)
    if len(under):
        lines += render(T, [RANK, CODE, COMMUNE, INHAB, MINUTES, nearest.but(width=28),
                            Column("h_second", "second_minutes", "r", 9, "min")], under.head(top).itertuples())
        if len(under) > top:
            lines.append("  " + T("and_more", n=len(under) - top, hint=T("cov_more_csv")))
        if zones is None and "geometry" in getattr(access, "columns", []):
            zones = coverage.underserved_zones(access, thr)
        if zones is not None:
            lines.append(T("cov_zones", zones=T.count(len(zones), "zone")))
            lines += render(T, ZONE_COLUMNS, zones.head(top).itertuples())
    else:
        lines.append("  " + T("none"))
    lines.append("")

    # unreachable communes, and the communes with parts some of which are (their reason says which)
    unr = access[(access["status"] == "unreachable") | _partly_unreachable(access)]
    if len(unr):
        lines.append(T("cov_unreachable"))
        lines += render(T, UNREACHABLE_COLUMNS, unr.itertuples())
        lines.append("")

    lines.append(T("cov_longest"))
    ranged = "n_points" in summ.worst.columns and (summ.worst.head(top)["n_points"] > 1).any()
    minutes = MINUTES.but(value=lambda r: _minutes_range(r, T), fmt=None, width=20) if ranged else MINUTES
    lines += render(T, [CODE, COMMUNE, INHAB, minutes, nearest], summ.worst.head(top).itertuples())
    if ranged:
        lines.append(T("cov_parts_range"))
    lines.append("")
    lines += _access_dominated_lines(access, T, site, min(top, 5))

    if summ.neighbour_population:
        share = summ.neighbour_population / summ.population if summ.population else float("nan")
        lines.append(T("cov_neighbours", inhabitants=T.count(summ.neighbour_population, "inhabitant"),
                       share=T.pct(share), communes=T.count(summ.neighbour_communes, "commune")))
        site_col = Column("h_site", lambda r: site(r.site_id, r.site_name), width=36)
        lines += render(T, [site_col, DEP, N_COMMUNES.but(value="communes"), INHAB],
                        summ.neighbour_sites.head(top).itertuples())
        lines.append("")
    elif not meta.get("own_departement_only"):
        lines += [T("cov_no_neighbours"), ""]

    if areas is not None and len(areas):
        lines.append(T("cov_areas"))
        lines += render(T, [Column("h_site", lambda r: site(r.site_id, r.site_name), width=36), DEP, N_COMMUNES,
                            INHAB, MEAN_MIN, MAX_MIN], areas.head(top).itertuples())
        if len(areas) > top:
            lines.append(T("cov_areas_more", n=len(areas) - top))
        lines.append("")
    if len(under):
        lines.append(T("cov_next_rank", t=f"{thr:g}"))
    lines.append(T("cov_footer"))
    return _finish(lines, provenance, T.lang)


def _access_dominated_lines(access, T: Text, site, top: int, *, flagged=None, hint="cov_more_csv") -> list[str]:
    """The communes whose time is mostly their access leg (:func:`fsgeo.coverage.access_dominated`, or ``flagged``
    when given; a ``departement`` column is listed): count, inhabitants, why it matters, the ``top`` longest legs
    (none for ``top`` 0, the message ``hint`` says where the rest are); nothing when there is none."""
    from fsgeo import coverage

    if flagged is None:
        flagged = coverage.access_dominated(access)
    if not len(flagged):
        return []
    lines = [T("cov_access_title", limit=T.pct(coverage.ACCESS_DOMINATED, 0),
               communes=T.count(len(flagged), "commune"), inhabitants=T.count(flagged["population"].sum(),
                                                                              "inhabitant")),
             T("cov_access_why")]
    if top > 0:
        dep = [DEP] if "departement" in flagged.columns else []
        lines += render(T, [CODE, *dep, COMMUNE, INHAB, MINUTES, Column("h_access_min", "access_min", "r", 8, "min"),
                            Column("h_share", "access_share", "r", 5, lambda v, T: T.pct(v, 0)),
                            Column("h_nearest", lambda r: site(r.nearest_site_id, r.nearest_site_name), width=32)],
                        flagged.head(top).itertuples())
    if len(flagged) > top:
        lines.append("  " + (T("and_more", n=len(flagged) - top, hint=T(hint)) if top > 0 else f"({T(hint)})"))
    return lines + [""]


# --------------------------------------------------------------------------------------------------------------------
# fsgeo underserved
# --------------------------------------------------------------------------------------------------------------------
def underserved_report(access, under, zones, threshold: float, *, lang: str | None = None,
                       provenance: dict | None = None) -> str:
    """``fsgeo underserved``: the ranked under-served communes (``under`` with a ``zone_id`` column), their zones and
    the unreachable communes."""
    T = Text(lang)
    t = T.g(threshold)
    lines = [T("und_title", t=t), ""]
    if not len(under):
        lines.append("  " + T("none"))
    else:
        lines.append(T("und_count", communes=T.count(len(under), "commune"),
                       inhabitants=T.count(under["population"].sum(), "inhabitant"), t=t))
        zone = Column("h_zone", lambda r: "" if _blank(r.zone_id) or str(r.zone_id) == "<NA>" else int(r.zone_id),
                      "r", 4)
        lines += render(T, [RANK, CODE, COMMUNE, INHAB, MINUTES, zone,
                            Column("h_nearest", "nearest_site_name", width=36, fmt="site")], under.itertuples())
        lines += ["", T("und_zones")]
        *head, names = ZONE_COLUMNS
        lines += render(T, [*head, Column("h_km2", "area_km2", "r", 6, "num"), names], zones.itertuples())
    unr = access[access["status"] == "unreachable"]
    if len(unr):
        lines += ["", T("cov_unreachable")]
        lines += render(T, UNREACHABLE_COLUMNS, unr.itertuples())
    return _finish(lines, provenance, T.lang)


# --------------------------------------------------------------------------------------------------------------------
# fsgeo catchments
# --------------------------------------------------------------------------------------------------------------------
def service_areas_report(areas, *, lang: str | None = None, provenance: dict | None = None) -> str:
    """``fsgeo catchments --service-areas``: one row per site."""
    T = Text(lang)
    lines = [T("sa_title"), ""]
    lines += render(T, [Column("h_id", "site_id", width=5), Column("h_site", "site_name", width=36, fmt="site"), DEP,
                        N_COMMUNES, INHAB, MEAN_MIN, MAX_MIN], areas.itertuples())
    return _finish(lines, provenance, T.lang)


def _population_of(text: str, T: Text) -> str:
    """``catchments``' ``population_of`` ("536 communes of the study (70) and 1220 communes outside it (21, 25)")
    in the reader's language."""
    text = re.sub(r"\b(\d{4,}) communes", lambda mt: f"{T.num(int(mt.group(1)))} communes", text)
    if T.lang != "fr":
        return text
    return (text.replace("communes of the study", "communes de l'étude").replace(" communes outside it",
            " communes hors de l'étude").replace(" and ", " et ").replace("not counted", "non comptée"))


def catchments_report(catch, n_sites: int, *, population_of: str = "", lang: str | None = None,
                      provenance: dict | None = None) -> str:
    """``fsgeo catchments``: inhabitants within each band, per site (``site_id`` rows) or merged (one row per
    band, ``mode`` ``merged``/``rings`` in ``catch.attrs["fsgeo"]``)."""
    T = Text(lang)
    meta = catch.attrs.get("fsgeo", {})
    bands = list(meta.get("bands_min") or sorted(set(catch["band_min"])))
    mode = meta.get("mode", "site")
    if mode in ("merged", "rings"):
        lines = [T("ca_title_merged", sites=T.count(n_sites, "site")), ""]
        label = "band_label" if "band_label" in catch.columns else "band_min"
        split = "population_outside" in catch.columns
        band = Column("ca_band", lambda r: f"{r[label]} min".replace(".", ",") if T.lang == "fr"
                      else f"{r[label]} min")
        lines += render(T, [band, Column("h_sites", "n_sites", "r"), Column("h_inhabitants", "population", "r",
                                                                             fmt="num")]
                        + ([Column("h_pop_study", "population_study", "r", fmt="num"),
                            Column("h_pop_outside", "population_outside", "r", fmt="num")] if split else [])
                        + [Column("h_km2", "area_km2", "r", fmt="num")], (r for _, r in catch.iterrows()))
    else:
        lines = [T("ca_title1"), T("ca_title2", sites=T.count(n_sites, "site")), ""]
        wide = catch.pivot_table(index=["site_id", "site_name"], columns="band_min", values="population", sort=False)
        area = catch.pivot_table(index=["site_id", "site_name"], columns="band_min", values="area_km2", sort=False)
        rows = [{"id": sid, "name": name, "population": r, "area": area.loc[(sid, name), bands[-1]]}
                for (sid, name), r in wide.iterrows()]
        lines += render(T, [Column("h_id", "id", width=5), Column("h_site", "name", width=36, fmt="site")]
                        + [Column(f"{T.g(b)} min", lambda r, b=b: r["population"][b], "r", 9, "num") for b in bands]
                        + [Column(f"km² {T.g(bands[-1])}", "area", "r", 7, "num")], rows)
        if "reason" in catch.columns:
            for r in catch[catch["reason"] != ""].drop_duplicates("site_id").itertuples():
                lines.append(T("ca_no_catchment", id=r.site_id, reason=r.reason))
    if population_of:
        lines.append(T("ca_population_of", what=_population_of(population_of, T)))
    return _finish(lines, provenance, T.lang)


# --------------------------------------------------------------------------------------------------------------------
# fsgeo timeline
# --------------------------------------------------------------------------------------------------------------------
def timeline_report(tl, bands, *, label: str = "", population: float = 0, lang: str | None = None,
                    provenance: dict | None = None) -> str:
    """``fsgeo timeline``: one row per labellisation date."""
    T = Text(lang)
    lines = [T("tl_title", label=label), T("tl_sub", inhabitants=T.count(population, "inhabitant")), ""]
    def new_sites(r):
        new = ", ".join(short_site(n) for n in str(r["new_sites"]).split("; ") if n)
        if r["new_sites_neighbours"]:
            new += (", " if new else "") + T("tl_neighbouring", n=r["new_sites_neighbours"])
        return new

    lines += render(T, [Column("h_date", "date", width=10), Column("h_sites", "sites_open", "r", 5),
                        Column("h_in_dep", "sites_open_departement", "r", 12)]
                    + [Column(T("h_le", b=T.g(b)), f"share_within_{b:g}", "r", 9, "pct") for b in bands]
                    + [Column("h_mean_min", "mean_min", "r", 8, "min"), Column("h_max_min", "max_min", "r", 7, "min"),
                       Column("h_new_sites", new_sites, width=60)], tl.to_dict("records"))
    lines.append(T("tl_note"))
    return _finish(lines, provenance, T.lang)


# --------------------------------------------------------------------------------------------------------------------
# fsgeo rank
# --------------------------------------------------------------------------------------------------------------------
def rank_report(result, *, top: int = 15, commune_names: dict | None = None, lang: str | None = None,
                provenance: dict | None = None) -> str:
    """``fsgeo rank``: the model's outcome, the chosen sites, the candidates on their own, what was left out.

    ``result`` is a :class:`fsgeo.siting.RankResult`; ``commune_names`` maps INSEE codes to names (the communes
    the model could not help are listed with them).
    """
    T = Text(lang)
    res = result.result
    meta = result.meta
    t = T.g(res.threshold)
    title = T("rk_title", model=T(f"model_{res.model}"))
    if res.model == "greedy" and meta.get("objective"):
        title += f" ({T('greedy_' + meta['objective'])})" if f"greedy_{meta['objective']}" in MESSAGES \
            else f" ({meta['objective']})"
    if res.model != "lscp":
        title += T("rk_k", k=res.k)
    title += T("rk_threshold", t=t)
    if meta.get("as_of"):
        title += T("rk_as_of", date=meta["as_of"])
    lines = [title]
    lines.append(T("rk_inputs", candidates=T.count(meta["n_candidates"], "candidate"),
                   communes=T.count(meta["n_communes"], "commune"),
                   inhabitants=T.count(meta["population"], "inhabitant"),
                   within=T.num(meta["population_within_threshold_before"]), t=t))
    digits = 1 if res.objective_name == "max_minutes" else 0
    what = T(f"obj_{res.objective_name}", t=t)
    status = T(f"solver_{res.status}") if f"solver_{res.status}" in MESSAGES else res.status
    if res.objective_name == "new_sites":
        lines.append(T("rk_objective_lscp", what=what, value=T.num(res.objective), status=status))
    else:
        lines.append(T("rk_objective", what=what, value=T.num(res.objective, digits),
                       baseline=T.num(res.baseline, digits), status=status))
    if res.model != "greedy" and res.greedy_objective is not None:
        pct = "" if _missing(res.gap_pct) else ", " + number(res.gap_pct, 2, T.lang) + (NNBSP if T.lang == "fr"
                                                                                         else " ") + "%"
        lines.append(T("rk_gap", what=T("rk_greedy_cover" if res.model == "lscp" else "rk_greedy_same_k"),
                       value=T.num(res.greedy_objective, digits), gap=T.num(res.gap, digits), pct=pct))
    # the model's own notes are English library text: the known ones are said in the reader's language, the number
    # of useful sites is said under the chosen ones
    notes = [n for n in str(res.message or "").split("; ")
             if n and not re.match(r"(no new site|only \d+ new sites?) improves? the objective", n)]
    if notes:
        lines.append(T("rk_note", message="; ".join(_solver_note(n, T) for n in notes)))
    if meta.get("restricted"):
        r = meta["restricted"]
        lines.append(T("rk_restricted", communes=T.count(r["communes"], "commune"),
                       candidates=T.count(r["candidates"], "candidate"), pairs=T.num(r["pairs"])))
    lines.append("")

    chosen = result.chosen
    if len(chosen):
        kind_words = {"principal": T("kind_principal"), "antenna": T("kind_antenna")}

        def commune(r):
            names = {str(r.get("commune_code")): r.get("commune_name")} if r.get("commune_name") else commune_names
            return commune_label(r.get("commune_code"), names)

        def run_by(r):
            if r["kind"] != "antenna":
                return ""
            if not isinstance(r.get("parent_id"), str):
                return T("rk_no_antenna_parent")
            src = {"declared": T("parent_declared"), "nearest": T("parent_nearest")}.get(
                r.get("parent_source"), r.get("parent_source") or "")
            return f"{r.get('parent_name') or r['parent_id']} ({T.min(r.get('parent_minutes'))} min, {src})"

        antennas = (chosen["kind"] == "antenna").any()
        lines.append(T("rk_chosen"))
        lines += render(T, [RANK, Column("h_id", "id", width=8), Column("h_site", "name", width=30),
                            Column("h_commune", commune, width=30),
                            Column("h_kind", lambda r: kind_words.get(r["kind"], r["kind"]), "r", 9),
                            Column("h_gain", "gain_population", "r", 11, "num"),
                            Column("h_served", "served_population", "r", 14, "num"),
                            MEAN_MIN.but(value="mean_minutes"), MAX_MIN]
                        + ([Column("h_run_by", run_by, width=50)] if antennas else []), chosen.to_dict("records"))
        useful = len(chosen)
        if res.model != "lscp" and useful < min(res.k, meta["n_candidates"]):
            lines.append(T("rk_fewer", n=T.count(useful, "new_site")))
    else:
        lines.append(_nothing_chosen(result, T, commune_names))
    lines.append("")

    scores = result.scores.head(top)
    lines.append(T("rk_candidates", n=len(scores), total=len(result.scores)))
    lines += render(T, [RANK, Column("h_id", "id", width=8), Column("h_site", "name", width=30),
                        Column("h_gain", "gain_population", "r", 11, "num"),
                        Column("h_resolved", "resolved_communes", "r", 17, "num"),
                        Column("h_mean_gain", "mean_reduction_min", "r", 15, "num2"),
                        Column("h_max_after", "max_minutes_after", "r", 13, "min"),
                        Column("h_takeover", "takeover_communes", "r", 17, "num"),
                        Column("h_takeover_pop", "takeover_population", "r", 12, "num")], scores.to_dict("records"))
    if len(result.unplaced):
        lines += ["", T("rk_unplaced", n=len(result.unplaced))]
        lines += render(T, [Column("h_id", "id", width=8), Column("h_site", "name", width=30), REASON],
                        result.unplaced.itertuples())
    if len(res.excluded):
        more = T("rk_first_listed", n=top) if len(res.excluded) > top else ""
        lines += ["", T("rk_excluded", n=len(res.excluded), more=more)]
        lines += render(T, [Column("h_commune", lambda r: commune_label(r.code, commune_names), width=34), INHAB,
                            REASON.but(fmt=_solver_note)], res.excluded.head(top).itertuples())
    return _finish(lines, provenance, T.lang)


#: the location models' English notes and reasons, in French (regular expression -> replacement)
_SOLVER_NOTES_FR = [
    (r"^no candidate within (\S+) min$", r"aucun candidat à moins de \1 min"),
    (r"^unreachable: no existing site nor any candidate can be reached from it", "non routée : aucun site existant ni "
     "candidat atteignable"),
    (r"^(\d+) commune\(s\) \((\d+) inhabitants\) cannot be brought within (\S+) min by any candidate and are excluded "
     r"from the covering constraints \(see excluded\): .*$",
     r"\1 commune(s) (\2 habitants) ne peuvent être amenées à moins de \3 min par aucun candidat : écartées des "
     r"contraintes de recouvrement (liste plus bas)"),
    (r"^k = (\d+) exceeds the (\d+) candidates: at most (\d+) sites$", r"k = \1 dépasse les \2 candidats : au plus "
     r"\3 sites"),
    (r"^time limit reached before the MILP beat (the )?greedy( set cover)?: greedy's sites are returned$",
     "limite de temps atteinte avant que le MILP ne batte le glouton : les sites du glouton sont retenus"),
]


#: the routing's English reasons for an unreachable commune, in French (regular expression -> replacement); the
#: others are shown as they are
_REASONS_FR = [
    (r"^island without roads$", "île sans route"),
    (r"^no site on its landmass \(island (\d+): ([\d,]+) road nodes not linked by road to the rest of the network\)$",
     lambda m: f"aucun site sur son île (île {m[1]} : {m[2].replace(',', ' ')} nœuds routiers non reliés par la route "
               "au reste du réseau)"),
    (r"^no site on its landmass \(the main one: .*\)$",
     "aucun site sur sa terre (tous les sites sont sur des îles sans lien routier avec elle)"),
    (r"^no site reachable by road within (\S+) min$", r"aucun site joignable par la route en \1 min"),
    (r"^no site reachable by road$", "aucun site joignable par la route"),
    # a commune with parts some of which no site reaches (fsgeo.coverage.aggregate_parts): each part's reason too
    (r"^(\d+) of (\d+) points unreachable: (.*)$",
     lambda m: f"{m[1]} point{'s' if int(m[1]) > 1 else ''} sur {m[2]} non routé{'s' if int(m[1]) > 1 else ''} : "
               + "; ".join(_part_reason_fr(item) for item in m[3].split("; "))),
]


def _part_reason_fr(item: str) -> str:
    """``"<part> (<reason>)"`` with the reason in French (the part's name as given)."""
    name, sep, reason = item.partition(" (")
    if not sep or not reason.endswith(")"):
        return item
    return f"{name} ({_in_french(reason[:-1], Text('fr'), _REASONS_FR)})"


def _in_french(text, T: Text, table) -> str:
    """``text`` (an English message from the library) through the first matching (pattern, French) pair of
    ``table`` when the report is French; unknown messages and English reports keep it as given."""
    text = "" if _blank(text) else str(text)
    if T.lang != "fr":
        return text
    for pattern, repl in table:
        new, n = re.subn(pattern, repl, text)
        if n:
            return new
    return text


def reason_text(text, T: Text) -> str:
    """The reason of an unreachable commune in the report's language (the known ones in French; others as given)."""
    return _in_french(text, T, _REASONS_FR)


def _solver_note(text, T: Text) -> str:
    return _in_french(text, T, _SOLVER_NOTES_FR)


def _nothing_chosen(result, T: Text, commune_names) -> str:
    """Why nothing was chosen, and (coverage objectives) the threshold at which the candidates start to matter."""
    res, meta = result.result, result.meta
    hint = meta.get("candidates_matter_below")
    if res.objective_name not in ("population_within_threshold", "new_sites"):
        return T("rk_none")
    if hint is None:
        return T("rk_none") + " " + T("rk_never_matter")
    if hint["threshold"] > res.threshold:
        return T("rk_none")
    text = T("rk_none_all_within", t=T.g(res.threshold))
    return text + " " + T("rk_matter_below", t=T.min(hint["threshold"]),
                          commune=commune_label(hint["code"], commune_names), before=T.min(hint["minutes_before"]),
                          after=T.min(hint["candidate_minutes"]), suggest=f"{hint['suggested_threshold']:g}")


# --------------------------------------------------------------------------------------------------------------------
# fsgeo accessibility
# --------------------------------------------------------------------------------------------------------------------
def accessibility_report(result, meta: dict, s: dict, *, top: int = 15, communes_given: bool = False,
                         lang: str | None = None, provenance: dict | None = None) -> str:
    """``fsgeo accessibility``: headline figures, lowest communes, most loaded sites (``result`` a
    :class:`fsgeo.accessibility.FCAResult`, ``s`` its :func:`fsgeo.accessibility.summary`)."""
    T = Text(lang)
    c, st = result.communes, result.sites
    t = T.g(meta["threshold_min"])
    unit = meta["unit"]
    if T.lang == "fr":
        unit = unit.replace("opening hours per week per 1,000 inhabitants", "heures d'ouverture par semaine pour "
                            "1 000 habitants").replace("opening hours per week", "heures d'ouverture par semaine")
    supply_unit = meta["supply_unit"]
    if T.lang == "fr":
        supply_unit = supply_unit.replace("opening hours per week", "heures d'ouverture par semaine")
    line = T("ac_title", method=T(f"ac_method_{meta['method']}"), t=t)
    if meta.get("as_of"):
        line += T("rk_as_of", date=meta["as_of"])
    if meta.get("kind") == "principal":
        line += T("ac_principal_only")
    if meta.get("own_departement_only"):
        line += T("ac_own_only")
    weights = str(meta["weights"])
    if T.lang == "fr":
        for en, fr in (("Gaussian weight falling from 1 to 0 at", "poids gaussien décroissant de 1 à 0 à"),
                       ("weight 1 up to", "poids 1 jusqu'à"), ("step weights", "poids par paliers")):
            weights = weights.replace(en, fr)
    lines = [line, T("ac_weights", w=weights)]
    own = meta.get("n_sites_in_departement")
    split = T("ac_split", own=own, nb=meta["n_sites"] - own) if own is not None else ""
    lines.append(T("ac_sites", sites=T.count(meta["n_sites"], "site"), split=split,
                   communes=T.count(s["n_communes"], "commune"), inhabitants=T.count(s["population"], "inhabitant"),
                   supply=T.num(meta["total_supply"], 1), unit=supply_unit))
    if meta.get("outside_communes"):
        not_routed = T("ac_not_routed", communes=T.count(meta["outside_communes_not_routed"], "commune"),
                       inhabitants=T.count(meta["outside_population_not_routed"], "inhabitant")) \
            if meta.get("outside_communes_not_routed") else ""
        lines.append(T("ac_outside", communes=T.count(meta["outside_communes"], "commune"),
                       inhabitants=T.count(meta["outside_population"], "inhabitant"),
                       in_reach=T.num(meta["outside_population_in_reach"]), supply=T.num(meta["supply_to_outside"], 1),
                       unit=supply_unit, not_routed=not_routed))
    else:
        lines.append(T("ac_no_outside"))
    lines += ["", T("ac_def", unit=unit)]
    lines.append(T("ac_stats", mean=T.num(s["mean"], 2), median=T.num(s["median"], 2), p10=T.num(s["p10"], 2),
                   p90=T.num(s["p90"], 2)))
    lines.append(T("ac_range", min=T.num(s["min"], 2), max=T.num(s["max"], 2)))
    if meta.get("n_sites_neighbour"):
        lines.append(T("ac_neighbour_share", share=T.pct(s["neighbour_share"], 0), n=meta["n_sites_neighbour"])
                     + ("" if meta.get("outside_communes") else T("ac_neighbour_optimistic")))
    b = s["status"]["no_site_in_reach"]
    lines.append(T("ac_no_site", t=t, communes=T.count(b["communes"], "commune"),
                   inhabitants=T.count(b["population"], "inhabitant")))
    b = s["status"]["unreachable"]
    if b["communes"]:
        lines.append(T("ac_unrouted", communes=T.count(b["communes"], "commune"),
                       inhabitants=T.count(b["population"], "inhabitant")))
    lines.append("")
    worst = c.sort_values(["accessibility", "population"], ascending=[True, False], kind="stable").head(top)
    lines.append(T("ac_lowest", n=len(worst), total=len(c)))
    status_words = {k: T(f"status_{k}") for k in ("served", "no_site_in_reach", "unreachable")}
    lines += render(T, [CODE, COMMUNE, INHAB, Column("h_access", "accessibility", "r", 13, "num2"),
                        Column("h_index", "accessibility_index", "r", 6, "num2"),
                        Column("h_neigh_part", "accessibility_neighbours", "r", 12, "num2"),
                        Column("h_in_reach", "sites_in_reach", "r", 14), MINUTES.but(value="nearest_minutes"),
                        Column("h_status", lambda r: status_words.get(r.status, r.status), width=20)],
                    worst.itertuples())
    reasons = worst[worst["reason"] != ""]
    if len(reasons):
        lines += ["", T("ac_why")]
        lines.extend(f"  {r.code} {r.name}: {r.reason}" for r in reasons.itertuples())
    lines.append("")
    useful = (st["status"] == "ok") & (st["communes_in_reach"] > 0)
    ok = st[useful].sort_values("ratio", kind="stable").head(top)
    lines.append(T("ac_loaded", n=len(ok), total=len(st)))
    outside = bool(meta.get("outside_communes"))
    lines += render(T, [Column("h_id", "id", width=6), Column("h_site", "name", width=36, fmt="site"), DEP,
                        Column("h_supply", "supply", "r", 7, "num1"), Column("h_demand", "demand_within", "r", 15, "num")]
                    + ([Column("h_demand_out", "demand_outside", "r", 15, "num")] if outside else [])
                    + [N_COMMUNES.but(value="communes_in_reach"), Column("h_ratio", "ratio", "r", 21, "num2")],
                    ok.itertuples())
    other = st[~useful]
    if len(other):
        more = T("ac_first_n", n=top) if len(other) > top else ""
        lines += ["", T("ac_useless", n=len(other), more=more)]
        for r in other.head(top).itertuples():
            why = r.reason if r.status != "ok" else T("ac_useless_why", t=t, n=T.num(r.demand_outside))
            lines.append(f"  {r.id} {short_site(r.name)} : {why}" if T.lang == "fr"
                         else f"  {r.id} {short_site(r.name)}: {why}")
    lines.append("")
    if outside:
        lines.append(T("ac_note_outside"))
    elif meta.get("n_sites_neighbour") or meta.get("n_sites"):
        lines.append(T("ac_note_border", hint="" if communes_given else T("ac_note_hint")))
    return _finish(lines, provenance, T.lang)


# --------------------------------------------------------------------------------------------------------------------
# fsgeo datasets
# --------------------------------------------------------------------------------------------------------------------
def datasets_report(summary: dict, departement: str = "", *, lang: str | None = None,
                    provenance: dict | None = None) -> str:
    """``fsgeo datasets``: the study, and the sites, communes and network a run would use (``summary`` from the
    command: ``study``, ``sites``, ``communes``, ``network``)."""
    T = Text(lang)
    s, c, n = summary["sites"], summary["communes"], summary["network"]
    st = summary.get("study")
    lines = []
    if st:
        codes = ", ".join(st["codes"])
        lines.append(T("ds_study", name=st["name"], dep=T.word("departement", len(st["codes"])), codes=codes,
                       path=st["path"]))
        if st.get("neighbours"):
            lines.append(T("ds_study_neighbours", x=", ".join(st["neighbours"])))
        lines.append(T("ds_crs", crs=st["metric_crs"]) + (T("ds_net_source", x=st["network_source"])
                                                            if st.get("network_source") else T("ds_no_net")))
        for src in st.get("sources", []):
            lines.append(T("ds_source", x=src.get("title") or src.get("id"),
                           date=src.get("date") or T("ds_undated_source"))
                         + (f", {src['licence']}" if src.get("licence") else ""))
        departement = st.get("label") or departement
    else:
        departement = f"département {departement}" if departement else ""
    lines.append(T("ds_sites", path=s["path"]))
    lines.append(T("ds_structures", n=s["count"], of=T("ds_of_file", n=s["total_in_file"])
                   if s["count"] != s["total_in_file"] else ""))
    if "as_of" in s:
        lines.append(T("ds_as_of", date=s["as_of"]))
    own = s["in_departement"]
    def kinds_word(k, v):
        return T.word(f"kinds_{k}", v) if f"kinds_{k}" in MESSAGES else k

    kinds = ", ".join(f"{v} {kinds_word(k, v)}" for k, v in own.items() if k != "total")
    lines.append(T("ds_in_dep", dep=departement, n=own["total"], kinds=f" ({kinds})" if kinds else ""))
    nb = s["neighbours"]
    per = ", ".join(f"{k} : {v}" if T.lang == "fr" else f"{k}: {v}" for k, v in nb["by_departement"].items())
    lines.append(T("ds_neighbours", n=nb["total"], per=f" ({per})" if per else ""))
    lines.append(T("ds_by_kind", x=", ".join(f"{v} {kinds_word(k, v)}" for k, v in s["by_kind"].items()) or "-"))
    lines.append(T("ds_by_format", x=", ".join(f"{k} {v}" for k, v in s["by_format"].items()) or "-"))
    if s["labelled_from"]:
        lines.append(T("ds_labelled", a=s["labelled_from"], b=s["labelled_to"],
                       undated=T("ds_undated", n=s["undated"]) if s["undated"] else ""))
    if not _missing(s["weekly_open_hours_median"]):
        lines.append(T("ds_hours", h=T.num(s["weekly_open_hours_median"], 1)))
    lines.append(T("ds_communes", path=c["path"]))
    if c["available"]:
        deps = ", ".join(f"{k} : {v}" if T.lang == "fr" else f"{k}: {v}" for k, v in c["by_departement"].items())
        lines.append(T("ds_communes_line", communes=T.count(c["count"], "commune"), deps=deps,
                       population=T.num(c["population"]), area=T.num(c["area_km2"])))
    else:
        lines.append(T("ds_unavailable", reason=c["reason"]))
    lines.append(T("ds_network", path=n["path"] or T("none_m")))
    if n["available"]:
        lines.append(T("ds_network_line", nodes=T.num(n["nodes"]), edges=T.num(n["directed_edges"]),
                       km=T.num(n["road_km"])))
        if n["main_component_nodes"] is not None:
            lines.append(T("ds_main", n=T.num(n["main_component_nodes"]), total=T.num(n["nodes"])))
        if n["by_road_class"]:
            lines.append(T("ds_by_class", x=", ".join(f"{k} {v}" for k, v in n["by_road_class"].items())))
    else:
        lines.append(T("ds_unavailable", reason=n["reason"]))
    return _finish(lines, provenance, T.lang)
