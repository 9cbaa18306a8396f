"""Vitascope node: the application that wires the protocol, generation and provenance layers."""

__version__ = "0.1.0"
