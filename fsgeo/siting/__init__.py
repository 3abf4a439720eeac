"""Siting: score candidate sites and choose new France Services structures, the existing sites kept open.

Matrix core (no data loading): :func:`score_candidates`, the models :class:`Greedy`, :class:`MCLP`, :class:`LSCP`,
:class:`PMedian`, :class:`PCenter` (``.solve()`` -> :class:`SitingResult`), built on a validated :class:`Instance`.
All times in minutes, populations in inhabitants.

Data side: :func:`read_candidates`, :func:`candidates_from_communes`, :func:`attach_antennas` and
:func:`rank_candidates`, which routes everything on the road network and returns a :class:`RankResult` with
``.scores`` and ``.chosen``.
"""

from fsgeo.siting.antennas import attach_antennas
from fsgeo.siting.api import RankResult, rank_candidates
from fsgeo.siting.candidates import CANDIDATE_COLUMNS, as_candidates, candidates_from_communes, read_candidates
from fsgeo.siting.instance import Instance, make_instance
from fsgeo.siting.models import (
    LSCP,
    MCLP,
    MODELS,
    Greedy,
    LocationModel,
    PCenter,
    PMedian,
    SitingResult,
    evaluate,
)
from fsgeo.siting.scores import score_candidates

__all__ = [
    "rank_candidates", "RankResult", "read_candidates", "candidates_from_communes", "as_candidates",
    "CANDIDATE_COLUMNS", "attach_antennas",
    "Instance", "make_instance", "score_candidates", "evaluate",
    "LocationModel", "Greedy", "MCLP", "LSCP", "PMedian", "PCenter", "MODELS", "SitingResult",
]
