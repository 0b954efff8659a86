"""Defaults the command line shows before anything is analysed, in a module that imports
nothing (so `archlint --help` need not import pydantic or the GPU table)."""

from __future__ import annotations

#: The roofline GPU when none is named (the CLI's --gpu default and the plots' roofline).
DEFAULT_GPU = "H100"
