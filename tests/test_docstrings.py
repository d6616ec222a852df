"""Every public function and class has a numpydoc docstring: a one-line summary, every
parameter of its signature documented with a type and a meaning (and nothing else), what it
returns, and an example (the examples themselves run as doctests in the test run).

"Public" is every function and class in the ``__all__`` of the public modules below; each is
checked once, under the module that lists it first.
"""

from __future__ import annotations

import importlib
import inspect
from typing import Any

import pytest
from numpydoc.docscrape import NumpyDocString

PUBLIC_MODULES = [
    "journeylab",
    "journeylab.charts",
    "journeylab.stats",
    "journeylab.sim",
    "journeylab.model",
    "journeylab.validate",
    "journeylab.report",
    "journeylab.workspace",
    "journeylab.preview",
    "journeylab.runtime",
    "journeylab.widget",
]


def public_objects() -> dict[str, Any]:
    """``{"module.name": object}`` of every function and class in the public ``__all__`` lists."""
    seen: dict[int, str] = {}
    out: dict[str, Any] = {}
    for module in PUBLIC_MODULES:
        mod = importlib.import_module(module)
        for name in mod.__all__:
            obj = getattr(mod, name)
            if not (inspect.isfunction(obj) or inspect.isclass(obj)) or id(obj) in seen:
                continue  # constants and typing aliases have no signature to document
            seen[id(obj)] = name
            out[f"{module}.{name}"] = obj
    return out


PUBLIC = public_objects()


def documented_parameters(obj: Any) -> list[str]:
    """The names a signature asks a docstring to document (a class's: its constructor's,
    without ``self``; no private ``_name``); ``*args`` and ``**kwargs`` with their stars, as
    numpydoc writes them."""
    try:
        sig = inspect.signature(obj)
    except (TypeError, ValueError):  # a class with no signature of its own (a bare exception)
        return []
    names = []
    for p in sig.parameters.values():
        if p.name.startswith("_"):
            continue  # a private parameter (``_base``) is no part of the documented call
        star = {p.VAR_POSITIONAL: "*", p.VAR_KEYWORD: "**"}.get(p.kind, "")
        names.append(star + p.name)
    return names


def problems(obj: Any) -> list[str]:
    """What the docstring of ``obj`` lacks, in words (empty: nothing)."""
    doc = inspect.getdoc(obj) if inspect.isfunction(obj) else obj.__dict__.get("__doc__")
    if not doc:
        return ["no docstring"]
    doc = inspect.cleandoc(doc)
    try:
        parsed = NumpyDocString(doc)
    except Exception as e:  # noqa: BLE001 - a docstring numpydoc cannot read is the finding
        return [f"numpydoc cannot read it: {e}"]
    out = []
    summary = parsed["Summary"]
    if len(summary) != 1 or not summary[0].strip():
        out.append(f"the summary is not one line: {summary}")
    want = documented_parameters(obj)
    got = [p.name for p in parsed["Parameters"]]
    if got != want:
        missing = [n for n in want if n not in got]
        extra = [n for n in got if n not in want]
        out.append(f"Parameters {got} do not match the signature {want} (missing {missing}, extra {extra})")
    for p in parsed["Parameters"]:
        typed = p.type.strip() or p.name.startswith("*")  # numpydoc writes ``**kwargs`` without a type
        if not typed or not "".join(p.desc).strip():
            out.append(f"parameter {p.name!r} has no type or no description")
    if inspect.isfunction(obj):
        returns = inspect.signature(obj).return_annotation
        if returns not in (None, "None") and not (parsed["Returns"] or parsed["Yields"]):
            out.append("no Returns (or Yields) section")
        for r in parsed["Returns"] + parsed["Yields"]:
            if not (r.type or r.name).strip() or not "".join(r.desc).strip():
                out.append("a Returns entry has no type or no description")
    if not any(line.lstrip().startswith(">>>") for line in parsed["Examples"]):
        out.append("no Examples section with a doctest")
    return out


@pytest.mark.parametrize("name", sorted(PUBLIC))
def test_public_functions_have_numpydoc_docstrings(name):
    found = problems(PUBLIC[name])
    assert not found, f"{name}: " + "; ".join(found)


def test_the_check_finds_what_a_docstring_lacks():
    def bare(journey, *, seed=0):
        """Run it."""
        return journey

    def wrong(journey, *, seed=0):
        """Run it.

        Parameters
        ----------
        journey : Journey
            What to run.
        cohort : Cohort
            Who runs it.

        Examples
        --------
        >>> wrong(1)
        1
        """
        return journey

    def whole(journey: int, *, seed: int = 0) -> int:
        """Run it.

        Parameters
        ----------
        journey : int
            What to run.
        seed : int, default 0
            The seed.

        Returns
        -------
        int
            ``journey``.

        Examples
        --------
        >>> whole(1)
        1
        """
        return journey

    assert problems(bare) == [
        "Parameters [] do not match the signature ['journey', 'seed'] (missing ['journey', 'seed'], extra [])",
        "no Returns (or Yields) section",
        "no Examples section with a doctest",
    ]
    assert problems(wrong)[0].endswith("(missing ['seed'], extra ['cohort'])")
    assert problems(whole) == []
    assert len(PUBLIC) > 100 and "journeylab.charts.funnel" in PUBLIC and "journeylab.Journey" in PUBLIC
