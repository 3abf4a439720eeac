"""The registry of location models: a new model is one class that registers itself.

    @register_model("mclp", title="maximal covering (exact, HiGHS)", objective="coverage", options=("k", "time_limit_s"))
    class MCLP(LocationModel): ...

:func:`model_specs` lists them (the built-in ones are registered by :mod:`fsgeo.siting.models`, which the package
``fsgeo.siting`` imports, so importing this module registers them: it imports nothing itself, no cycle);
the command line reads its ``--model`` choices and help from it, :func:`fsgeo.siting.rank_candidates` builds the
model from it. This module imports nothing heavy.
"""

from __future__ import annotations

from dataclasses import dataclass, field

_REGISTRY: dict[str, "ModelSpec"] = {}


@dataclass(frozen=True)
class ModelSpec:
    """What a registered model is: ``name`` (the ``--model`` value), ``title`` (one line for people),
    ``objective`` (``coverage`` | ``pmedian`` | ``pcenter`` | ``"any"`` when the model takes an ``objective``
    option), ``options`` (keyword arguments its ``from_instance`` accepts: ``k``, ``objective``, ``time_limit_s``)
    and the class itself."""

    name: str
    title: str
    objective: str
    options: tuple = ()
    cls: type | None = field(default=None, compare=False)
    exact: bool = True
    #: the objective depends only on the communes beyond the threshold and the candidates within it of one: the
    #: model may be solved on :func:`fsgeo.siting.restricted.restricted_instance` with the same optimum
    restrictable: bool = False

    def build(self, instance, **options):
        """The model on a validated :class:`~fsgeo.siting.instance.Instance`, with the options it accepts (others
        are ignored: ``k`` means nothing to LSCP, ``objective`` only to greedy)."""
        return self.cls.from_instance(instance, **{k: v for k, v in options.items() if k in self.options})


def register_model(name: str, *, title: str, objective: str, options=("k", "time_limit_s"), exact: bool = True,
                   restrictable: bool = False):
    """Class decorator: register a :class:`~fsgeo.siting.models.LocationModel` subclass under ``name``."""

    def decorate(cls):
        if name in _REGISTRY and _REGISTRY[name].cls is not cls:
            raise ValueError(f"a location model named {name!r} is already registered ({_REGISTRY[name].cls})")
        cls.name = name
        _REGISTRY[name] = ModelSpec(name, title, objective, tuple(options), cls, exact, restrictable)
        return cls

    return decorate


def model_specs() -> dict[str, ModelSpec]:
    """Every registered model by name, built-in ones first (in registration order)."""
    return dict(_REGISTRY)


def model_spec(name: str) -> ModelSpec:
    """The registered model ``name``; :class:`fsgeo.errors.InputError` naming the known ones otherwise."""
    specs = model_specs()
    if name not in specs:
        from fsgeo.errors import InputError

        raise InputError(f"unknown model {name!r}: expected one of {', '.join(specs)}")
    return specs[name]
