"""Siting: score candidate sites and choose new France Services structures, the existing sites kept open.

Matrix core (no data loading): :func:`score_candidates`, the models :class:`Greedy`, :class:`MCLP`, :class:`LSCP`,
:class:`PMedian`, :class:`PCenter` (``.solve()`` -> :class:`SitingResult`), built on a validated :class:`Instance`.
All times in minutes, populations in inhabitants.
"""

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
    "Instance", "make_instance", "score_candidates", "evaluate",
    "LocationModel", "Greedy", "MCLP", "LSCP", "PMedian", "PCenter", "MODELS", "SitingResult",
]
