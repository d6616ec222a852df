"""The notebook journey builder (needs the ``notebook`` extra: ipywidgets and ipycytoscape).

>>> from journeylab.model import Journey, Action
>>> from journeylab.widget import JourneyBuilder
>>> j = Journey("Welcome", id="welcome")
>>> _ = j.add(Action(id="installed", event="App Installed"))
>>> builder = JourneyBuilder(j)        # display it: the last expression of a cell
>>> builder.node_count
1

See ``docs/widget.md``.
"""

from __future__ import annotations

from typing import Any

__all__ = ["JourneyBuilder", "default_node", "new_node_id"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        try:
            import ipycytoscape  # noqa: F401
            import ipywidgets  # noqa: F401
        except ImportError as e:  # pragma: no cover - depends on the environment
            from journeylab.errors import MissingExtraError

            raise MissingExtraError(e.name or "ipywidgets", "notebook") from None
        from journeylab.widget import builder

        return getattr(builder, name)
    raise AttributeError(f"module 'journeylab.widget' has no attribute {name!r}")
