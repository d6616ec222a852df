"""journeylab: design customer-engagement journeys in Jupyter and simulate them before launch.

The public API lives here; everything else is in private-by-convention submodules.
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

__version__ = "0.1.0"

__all__ = [
    "__version__",
    "CohortError",
    "EngineInvariantError",
    "JourneyDefinitionError",
    "JourneyError",
    "LifecycleError",
    "MissingExtraError",
    *_model_all,
]
