"""The canonical model: loading, lookups, simulation settings, validation and summaries."""

from .loader import load
from .model import Model
from .records import ComponentRecord, ComponentTypeDef, LemsComponent, Location, Problem, SourceFile
from .simulation import Display, EventOutputFile, EventSelection, Line, OutputColumn, OutputFile, Simulation

__all__ = [
    "load", "Model", "ComponentRecord", "ComponentTypeDef", "LemsComponent", "Location", "Problem",
    "SourceFile", "Display", "EventOutputFile", "EventSelection", "Line", "OutputColumn",
    "OutputFile", "Simulation",
]
