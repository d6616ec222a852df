"""journeylab: design customer-engagement journeys in Jupyter and simulate them before launch.

The public API lives here; everything else is in private-by-convention submodules. The
model and the errors import at once; the parts that need pandas, SimPy or a database
(``simulate``, ``Cohort``, ``validate``'s companions, ``Workspace``) load on first use, so
importing the pure engine core never pulls them in.

>>> import journeylab as jl
>>> j = jl.Journey("Welcome", id="welcome")
>>> _ = j.add(jl.Action(id="installed", event="App Installed"))
>>> jl.validate(j).ok
True
"""

from journeylab.errors import (
    CohortError,
    EngineInvariantError,
    JourneyDefinitionError,
    JourneyError,
    LifecycleError,
    MissingExtraError,
)
from journeylab.model import *  # noqa: F403
from journeylab.model import __all__ as _model_all
from journeylab.validate import check, validate  # after the submodule: the names are the functions

__version__ = "0.1.0"

_LAZY = {
    "Workspace": ("journeylab.workspace", "Workspace"),
    "simulate": ("journeylab.sim", "simulate"),
    "Cohort": ("journeylab.sim", "Cohort"),
    "BehaviourModel": ("journeylab.sim", "BehaviourModel"),
    "SimulationResult": ("journeylab.sim", "SimulationResult"),
}


def __getattr__(name: str):  # PEP 562: load the heavier parts on first use
    if name in _LAZY:
        import importlib

        mod, attr = _LAZY[name]
        value = getattr(importlib.import_module(mod), attr)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'journeylab' has no attribute {name!r}")


__all__ = [
    "__version__",
    "CohortError",
    "EngineInvariantError",
    "JourneyDefinitionError",
    "JourneyError",
    "LifecycleError",
    "MissingExtraError",
    "validate",
    "check",
    *_LAZY,
    *_model_all,
]
