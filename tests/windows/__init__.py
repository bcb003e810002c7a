"""Tests of the CLI under a simulation of CPython on Windows (see simulation.py)."""
