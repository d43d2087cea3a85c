"""Hyperparameters as frozen dataclasses, read from MLflow-style mappings of strings or numbers."""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any, Mapping


@dataclass(frozen=True)
class Params:
    """Every field has a default; ``from_mapping`` converts each given value to the type of its
    default, ignores other keys, and lets the subclass check ranges in ``validate``."""

    @classmethod
    def from_mapping(cls, params: Mapping[str, Any] | None):
        given = dict(params or {})
        out = cls(**{f.name: type(f.default)(given.get(f.name, f.default)) for f in fields(cls)})
        out.validate()
        return out

    def validate(self) -> None:
        """Raise ValueError for values out of range."""

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)
