"""Automatic conversation distribution: the state seam and its in-process implementation."""

from hub.acd.base import AcdChange, AcdState, AgentLoad, Assignment
from hub.acd.memory import MemoryAcd

__all__ = ["AcdChange", "AcdState", "AgentLoad", "Assignment", "MemoryAcd"]
