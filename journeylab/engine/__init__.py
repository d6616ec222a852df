"""The engine core: pure, sans-I/O journey rules that every driver runs.

Imports only the standard library, numpy (batched work, draws) and the model layer (a test
enforces it).
"""

from journeylab.engine.clock import LocalClock
from journeylab.engine.core import TIMER_RULES, Engine, as_epoch
from journeylab.engine.draws import split_draw, stable_hash
from journeylab.engine.multi import JourneySet
from journeylab.engine.reference import ReferenceDriver, canonical
from journeylab.engine.state import Control, Enrollment, UserState
from journeylab.engine.types import (
    DISCARD_REASONS,
    EXIT_REASONS,
    TRACE_COLUMNS,
    TRACE_EVENTS,
    Action,
    Event,
    Feedback,
    Input,
    Inputs,
    NodePassed,
    ProfileChanged,
    ProfileSet,
    Send,
    TraceRecord,
    Trigger,
    Wake,
    from_epoch,
    to_epoch,
)

__all__ = [
    "Engine",
    "JourneySet",
    "ReferenceDriver",
    "Control",
    "UserState",
    "Enrollment",
    "LocalClock",
    "Event",
    "ProfileSet",
    "Feedback",
    "Trigger",
    "Wake",
    "Input",
    "Inputs",
    "TraceRecord",
    "Send",
    "ProfileChanged",
    "NodePassed",
    "Action",
    "TRACE_COLUMNS",
    "TRACE_EVENTS",
    "EXIT_REASONS",
    "DISCARD_REASONS",
    "to_epoch",
    "from_epoch",
    "as_epoch",
    "split_draw",
    "stable_hash",
    "canonical",
    "TIMER_RULES",
]
