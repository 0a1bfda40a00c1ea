"""Pickled state of the models' own classes as a dict of named attributes.

A checkpoint must read the same whether the classes run interpreted or compiled by mypyc, and a compiled
instance has no ``__dict__``: each class names the attributes it pickles, and reads and sets them one by
one. Checkpoints written before this (pickled ``__dict__`` contents) hold the same names.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any


def attribute_state(obj: object, names: Iterable[str]) -> dict[str, Any]:
    return {name: getattr(obj, name) for name in names}


def set_attributes(obj: object, state: Mapping[str, Any], names: Iterable[str]) -> None:
    """Set each of ``names`` from ``state``; KeyError when one is missing (ModelCheckpoint.load reports
    that as an unreadable checkpoint)."""
    for name in names:
        setattr(obj, name, state[name])
