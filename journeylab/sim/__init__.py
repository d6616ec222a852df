"""The simulator: cohorts, behaviour models, the SimPy run and experiments."""

from journeylab.sim import _docs
from journeylab.sim.behaviour import BehaviourModel, ChannelBehaviour, GoalLift, Latency, OptOut
from journeylab.sim.cohort import Cohort
from journeylab.sim.reference import reference
from journeylab.sim.result import SimulationResult
from journeylab.sim.simulator import Simulation, relevant_events, simulate

# the arguments the drivers share are documented once (journeylab/sim/_docs.py)
for _driver in (simulate, Simulation, reference):
    _docs.fill(_driver)

__all__ = [
    "BehaviourModel",
    "ChannelBehaviour",
    "GoalLift",
    "Latency",
    "OptOut",
    "Cohort",
    "SimulationResult",
    "simulate",
    "Simulation",
    "reference",
    "relevant_events",
]
