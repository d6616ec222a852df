"""The one error tree of journeylab.

* :class:`JourneyError` is the root of every error the library raises on purpose.
* :class:`JourneyDefinitionError` means *your input* is wrong (a journey, a cohort, an
  event); it carries a JSON path such as ``$.nodes[3].window`` that says where.
* :class:`InputError` means a bad *runtime input* (an event, feedback or profile update
  from a stream, an HTTP body) or a bad argument (:class:`ArgumentError`), with a JSON path
  (``$[3].ts``) or the argument's name; it is not a journey definition error.
* :class:`LifecycleError` means an operation is not allowed in the journey's current state
  (editing a published journey, archiving a running one, ...).
* :class:`EngineInvariantError` means *we* have a bug: a rule of the engine was broken.
"""

from __future__ import annotations

__all__ = [
    "JourneyError",
    "JourneyDefinitionError",
    "LifecycleError",
    "EngineInvariantError",
    "CohortError",
    "InvalidJourneyError",
    "JourneyWarning",
    "InputError",
    "ArgumentError",
    "StorageError",
    "MissingExtraError",
]


class JourneyError(Exception):
    """Root of the journeylab error tree.

    Catch it to handle every error journeylab raises on purpose.

    Examples
    --------
    >>> import journeylab as jl
    >>> issubclass(jl.JourneyDefinitionError, jl.JourneyError), issubclass(jl.LifecycleError, jl.JourneyError)
    (True, True)
    """


class JourneyDefinitionError(JourneyError, ValueError):
    """Bad input, with the JSON path of the offending value.

    Parameters
    ----------
    message : str
        What is wrong.
    path : str, default "$"
        Where: a JSON path such as ``$.nodes[3].window``.

    Examples
    --------
    >>> err = JourneyDefinitionError("must be positive", path="$.nodes[3].window")
    >>> str(err), err.path
    ('$.nodes[3].window: must be positive', '$.nodes[3].window')
    """

    def __init__(self, message: str, path: str = "$") -> None:
        self.message = message
        self.path = path
        super().__init__(f"{path}: {message}")


class InvalidJourneyError(JourneyDefinitionError):
    """A journey that validation refuses: raised by every driver before it runs anything.

    ``reports`` maps each journey id to its :class:`~journeylab.validate.ValidationReport`;
    the message lists every error with its path, and ``path`` is the first error's.
    """

    def __init__(self, message: str, path: str, reports: dict) -> None:
        super().__init__(message, path)
        self.reports = reports

    def __str__(self) -> str:
        return self.message


class JourneyWarning(UserWarning):
    """Validation warnings of a journey that is run anyway (shown once per distinct warning)."""


class CohortError(JourneyDefinitionError):
    """A cohort (profiles or events table) that cannot be used, with where it is wrong.

    Parameters
    ----------
    message : str
        What is wrong.
    path : str, default "$"
        Where: the table and column, such as ``$.events.ts``.

    Examples
    --------
    >>> str(CohortError("naive timestamps", "$.events.ts"))
    '$.events.ts: naive timestamps'
    """


class InputError(JourneyError, ValueError):
    """A runtime input that cannot be applied: ``path`` says where, ``message`` why.

    Parameters
    ----------
    message : str
        What is wrong.
    path : str, default "$"
        Where in the input: ``$.ts``, ``$[3].user_id``.

    Examples
    --------
    >>> str(InputError("naive timestamp", "$[2].ts"))
    '$[2].ts: naive timestamp'
    """

    def __init__(self, message: str, path: str = "$") -> None:
        self.message = message
        self.path = path
        super().__init__(f"{path}: {message}")


class ArgumentError(InputError):
    """A bad argument to a library call (``path`` is the argument's name, such as ``seed``)."""


class StorageError(JourneyError):
    """A database that cannot be used: unreachable, read-only, corrupt, or of a newer schema.
    ``url`` says which (password hidden)."""

    def __init__(self, message: str, url: str = "") -> None:
        self.url = url
        super().__init__(f"{url}: {message}" if url else message)


class LifecycleError(JourneyError):
    """An operation that the journey's lifecycle state does not allow.

    Examples
    --------
    >>> from journeylab import Journey, LifecycleError
    >>> j = Journey("Welcome", id="welcome")
    >>> try:
    ...     j.stop()
    ... except LifecycleError as e:
    ...     print(type(e).__name__)
    LifecycleError
    """


class EngineInvariantError(JourneyError, RuntimeError):
    """An internal rule of the engine was broken: a bug in journeylab, please report it.

    Examples
    --------
    >>> issubclass(EngineInvariantError, RuntimeError)
    True
    """


class MissingExtraError(JourneyError, ImportError):
    """An optional part was used without its extra installed.

    Parameters
    ----------
    module : str
        The missing module.
    extra : str
        The extra that installs it.

    Examples
    --------
    >>> str(MissingExtraError("optuna", "experiments"))
    "optuna is needed for this feature; install it with: pip install 'journeylab[experiments]'"
    """

    def __init__(self, module: str, extra: str) -> None:
        super().__init__(f"{module} is needed for this feature; install it with: pip install 'journeylab[{extra}]'")
