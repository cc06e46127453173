"""Etude in the terminal: a live view of a practice room, as a client of the hub."""

__version__ = "0.1.0"
