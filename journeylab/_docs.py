"""Docstrings written once: shared numpydoc entries filled into the docstrings that name them.

A docstring names a shared entry on a line of its own as ``%(name)s``; the decorator made by
:func:`filler` puts the entry there at that line's indentation (matplotlib's docstring
interpolation). The charts (:mod:`journeylab.charts._api`) and the node kinds
(:mod:`journeylab.model.nodes`) describe their common arguments this way.

>>> fill = filler({"seed": "seed : int, default 0\\n    The random seed."})
>>> @fill
... def run(seed=0):
...     '''Run.
...
...     Parameters
...     ----------
...     %(seed)s
...     '''
>>> [line.strip() for line in run.__doc__.splitlines()[4:6]]
['seed : int, default 0', 'The random seed.']
"""

from __future__ import annotations

import re
import textwrap
from collections.abc import Callable, Mapping
from typing import TypeVar

__all__ = ["filler"]

T = TypeVar("T")

_TOKEN = re.compile(r"^([ \t]*)%\((\w+)\)s[ \t]*$", re.MULTILINE)


def filler(entries: Mapping[str, str]) -> Callable[[T], T]:
    """A decorator that fills ``entries`` into the docstring of a function or class.

    Parameters
    ----------
    entries : mapping of str to str
        The shared text by name: numpydoc entries, whole sections or example lines.

    Returns
    -------
    callable
        The decorator: it sets the ``__doc__`` of what it decorates, filled in, and returns
        it. A name the entries lack raises :class:`KeyError` when it decorates.
    """

    def fill(obj: T) -> T:
        doc = obj.__doc__ or ""
        obj.__doc__ = _TOKEN.sub(lambda m: textwrap.indent(entries[m.group(2)], m.group(1)), doc)
        return obj

    return fill
