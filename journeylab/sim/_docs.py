"""The numpydoc entries :func:`~journeylab.sim.simulate`, :class:`~journeylab.sim.Simulation` and
:func:`~journeylab.sim.reference` share, written once; ``journeylab.sim`` fills them in
(:func:`journeylab._docs.filler`)."""

from journeylab._docs import filler

__all__ = ["RUN_DOCS", "fill"]

#: the arguments the drivers share, the errors they raise
RUN_DOCS: dict[str, str] = {
    "run": """journeys : Journey, JourneyDef, str, pathlib.Path or list of them
    The journeys (a JSON path is read); a list runs together: journey triggers, profile
    updates and account caps cross between them.
cohort : Cohort, (profiles, events) tuple or str
    The users: a :class:`Cohort`, a pair of frames, or a bundled dataset name
    (``"ecommerce"``).
start : datetime-like or None, default None
    An aware instant: every journey is treated as published then; default the cohort's
    first day.
end : datetime-like or None, default None
    When the run ends; default the cohort's last event.""",
    "inputs": """lifecycle : dict or None, default None
    Pause / resume / stop moments per journey id, e.g.
    ``{"cart": [("2026-10-10T00:00Z", "paused")]}``.
custom_lists : dict or None, default None
    The user ids of Custom List entries, per journey id and node id.""",
    "behaviour": """behaviour : BehaviourModel or None, default None
    How users respond to messages (views, clicks, goal lift, opt-outs); default
    :meth:`BehaviourModel.default`.""",
    "period": """period : datetime.timedelta, default 31 days
    The length of the periods the run moves through one at a time (see the module docstring):
    the result is the same for any period; a longer one takes fewer steps, a shorter one moves
    the progress bar more often.""",
    "validate": """validate : bool, default True
    Validate the journeys first (:func:`journeylab.validate.check_journeys`): errors stop
    the run, warnings are shown once as :class:`~journeylab.errors.JourneyWarning`.""",
    "engine": """engine : {"auto", "batched", "per-user"}, default "auto"
    ``"auto"`` runs the batched engine (every user's state in arrays) when it supports the
    journeys, else the per-user engine; both give the same result.""",
    "policy": """policy : AccountPolicy, dict, str or None, default None
    The account policy the journeys share (caps, consent, users' timezones); default no
    caps and the standard consent properties.""",
    "raises": """Raises
------
journeylab.errors.InvalidJourneyError
    When a journey does not validate.
journeylab.CohortError
    When the cohort cannot be used (the path says where).""",
}

fill = filler(RUN_DOCS)
