"""What the charts share: the descriptions of the arguments several of them take, written
once and filled into each docstring, and the charts' old names as deprecated aliases.

A docstring names a shared entry on a line of its own as ``%(name)s`` (a key of
:data:`PARAMS`); :func:`fill_doc` puts the entry there at that line's indentation
(:func:`journeylab._docs.filler`).

>>> print(PARAMS["title"])
title : str or None, default None
    The figure's title; default one naming what is drawn.
"""

from __future__ import annotations

import functools
import warnings
from collections.abc import Callable, Mapping
from typing import Any

from journeylab._docs import filler

__all__ = ["PARAMS", "RENAMED", "fill_doc", "deprecated_alias", "old_name"]

#: numpydoc text several charts share: the entries of the arguments they have in common (name,
#: type and meaning), the figure they return, and the first lines of an example (the bundled
#: cart-abandonment journey simulated over a small generated cohort)
PARAMS: dict[str, str] = {
    "journey": """journey : str or None, default None
    The id of the journey to draw when ``data`` holds several (a result of
    ``simulate([j1, j2], ...)`` or a trace of several journeys); default the first.""",
    "definition": """definition : Journey, JourneyDef or None, default None
    The journey whose nodes a bare trace shows (labels, kinds, goals, timezone); default
    read off the trace. A result knows its journeys and needs none.""",
    "ci": """ci : pandas.DataFrame or None, default None
    A replicate frame (:func:`journeylab.sim.experiments.replicate`): the figure draws the
    Monte Carlo means with their confidence intervals as error bars instead of this run's
    counts.""",
    "title": """title : str or None, default None
    The figure's title; default one naming what is drawn.""",
    "height": """height : int or None, default None
    The figure's height in pixels; default one that fits what is drawn.""",
    "timezone": """timezone : str or None, default None
    The IANA timezone of the account-local days and hours; default the (first) journey's
    for a result, UTC for a trace or a frame.""",
    "graph_definition": """definition : Journey or JourneyDef
    The journey to draw.""",
    "graph_data": """data : SimulationResult, pandas.DataFrame or None, default None
    Counts to show: a simulation result, or node statistics (a frame indexed by node id
    with ``entered``, ``waiting``, ``left_<port>``, ``sent``... columns; missing ones are
    0). Nodes then show their counts and edges their flow; default no counts.""",
    "waiting_users": """waiting_users : mapping of str to sequence, optional
    The users waiting at each node id, listed in the node's hover text; a result gives
    its own.""",
    "issues": """issues : iterable of Issue or None, default None
    Validation issues to badge (red for an error, yellow for a warning); default the
    journey's own, from :func:`journeylab.validate`.""",
    "layout": """layout : {"stored", "auto"}, default "stored"
    ``"stored"`` keeps the positions stored in the model, ``"auto"`` lays the journey out
    afresh.""",
    "conversions": """conversions : mapping of str to int, optional
    Users converted per goal name, shown on the goal boxes; a result gives its own.""",
    "figure": """Returns
-------
plotly.graph_objects.Figure
    The figure: ``fig.show()`` draws it in a notebook, ``fig.write_html(path)`` saves it;
    its traces carry the numbers drawn (``fig.data``).""",
    "example": """Examples
--------
>>> from journeylab import charts, examples, simulate
>>> from journeylab.datasets import generate_cohort
>>> cohort = generate_cohort(200, days=7, seed=1)
>>> result = simulate(examples.cart_abandonment(), cohort, "2026-10-01T00:00Z", "2026-10-08T00:00Z", seed=1)""",
}

# the entries that go together in most charts, as one
PARAMS["run"] = "\n".join(
    [
        "data : SimulationResult or pandas.DataFrame",
        "    A simulation result or its trace (``result.trace``).",
        PARAMS["journey"],
        PARAMS["definition"],
    ]
)
PARAMS["title_height"] = PARAMS["title"] + "\n" + PARAMS["height"]
PARAMS["figure_of_journey"] = (
    PARAMS["figure"] + "\n\nRaises\n------\nKeyError\n    When ``journey`` names no journey of ``data``."
)

#: the decorator that fills :data:`PARAMS` into a chart's docstring
fill_doc = filler(PARAMS)


#: the charts' old names: old name -> (new name, {old keyword: new keyword})
RENAMED: dict[str, tuple[str, dict[str, str]]] = {
    "node_stats_chart": ("node_stats", {}),
    "waiting_chart": ("waiting", {}),
    "messages_chart": ("messages", {}),
    "message_load_chart": ("message_load", {}),
    "goals_chart": ("goals", {}),
    "time_to_goal_chart": ("time_to_goal", {}),
    "sweep_chart": ("sweep", {"df": "data", "stat": "stats"}),
    "compare_chart": ("compare", {"df": "data"}),
    "uplift_chart": ("uplift", {"df": "data"}),
    "pareto_chart": ("pareto", {"trials": "data"}),
    "journey_figure": ("journey", {"journey_or_def": "definition", "node_stats": "data"}),
}


def deprecated_alias(old: str, new: Callable[..., Any], renamed: Mapping[str, str] | None = None) -> Callable[..., Any]:
    """A function named ``old`` that warns, then calls ``new`` with the same arguments.

    Parameters
    ----------
    old : str
        The deprecated name.
    new : callable
        The function that replaces it.
    renamed : mapping of str to str, optional
        Keyword arguments whose names changed, old name to new name.

    Returns
    -------
    callable
        The alias: each call emits a :class:`DeprecationWarning` naming ``new``, passes the
        positional arguments on as they are and the keywords under their new names.
    """
    names = dict(renamed or {})

    @functools.wraps(new)
    def alias(*args: Any, **kwargs: Any) -> Any:
        warnings.warn(
            f"journeylab.charts.{old} is deprecated: use journeylab.charts.{new.__name__} (same arguments)",
            DeprecationWarning,
            stacklevel=2,
        )
        return new(*args, **{names.get(k, k): v for k, v in kwargs.items()})

    alias.__name__ = alias.__qualname__ = old
    alias.__doc__ = f"Deprecated alias of :func:`journeylab.charts.{new.__name__}`."
    return alias


def old_name(module: str, name: str, namespace: Mapping[str, Any]) -> Callable[..., Any]:
    """The deprecated alias ``name`` of a chart defined in ``namespace``: a module's
    ``__getattr__`` (PEP 562) answers its old names with it.

    Parameters
    ----------
    module : str
        The module's name, for the error message.
    name : str
        The attribute asked for.
    namespace : mapping
        The module's globals, where the new function is.

    Returns
    -------
    callable
        The alias made by :func:`deprecated_alias`.

    Raises
    ------
    AttributeError
        When ``name`` is no old name of a chart of this module.
    """
    new, renamed = RENAMED.get(name, ("", {}))
    if new not in namespace:
        raise AttributeError(f"module {module!r} has no attribute {name!r}")
    return deprecated_alias(name, namespace[new], renamed)
