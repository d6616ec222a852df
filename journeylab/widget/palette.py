"""What the palette adds: a node of a kind with the defaults of the node-kind table, and a free id.

>>> new_node_id("push", {"push_1", "push_2"})
'push_3'
>>> default_node("delay", "delay_1").duration
datetime.timedelta(days=1)
>>> palette_options()[0]
('Segment · Action', 'action')
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from journeylab.model.nodes import NODE_KINDS

__all__ = ["new_node_id", "default_node", "palette_options", "FAMILY_TITLES", "is_placeholder_content"]

FAMILY_TITLES = {"segment": "Segment", "engagement": "Engage", "controller": "Controller"}


def new_node_id(kind: str, existing: Sequence[str] | set[str]) -> str:
    """The first free id ``<kind>_<n>``.

    Parameters
    ----------
    kind : str
        The node kind.
    existing : sequence or set of str
        The ids already taken.

    Returns
    -------
    str
        The id.

    Examples
    --------
    >>> new_node_id("push", ["push_1", "push_2"])
    'push_3'
    """
    taken = set(existing)
    n = 1
    while f"{kind}_{n}" in taken:
        n += 1
    return f"{kind}_{n}"


def default_node(kind: str, node_id: str) -> Any:
    """A node of ``kind`` with default settings (what the palette adds).

    Parameters
    ----------
    kind : str
        A node kind (a key of :data:`~journeylab.model.NODE_KINDS`).
    node_id : str
        The new node's id.

    Returns
    -------
    Node
        The node.

    Examples
    --------
    >>> default_node("delay", "delay_1")
    Delay(id='delay_1', label='', position=None, duration=datetime.timedelta(days=1), at_time=None, weekdays=[], property=None, offset=datetime.timedelta(0))
    """
    return NODE_KINDS[kind].palette_node(node_id)


def palette_options() -> list[tuple[str, str]]:
    """``(title, kind)`` for the Add drop-down, in the node-kind table's order."""
    return [(f"{FAMILY_TITLES[i.family]} · {i.title}", k) for k, i in NODE_KINDS.items()]


def is_placeholder_content(kind: str, content: dict[str, str]) -> list[str]:
    """The content fields still holding the palette's placeholder text ("Title", "Message"...).

    >>> is_placeholder_content("email", {"subject": "Subject", "body": "Hi {{first_name}}"})
    ['subject']
    """
    defaults = NODE_KINDS[kind].defaults.get("content", {}) if kind in NODE_KINDS else {}
    return [k for k, v in content.items() if k in defaults and v == defaults[k]]
