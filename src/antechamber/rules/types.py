"""The value types of Cloudflare's Rules language, as wirefilter names them.

``Bytes``, ``Int``, ``Bool`` and ``Ip`` are the primitives; ``Array`` and ``Map``
wrap one element type (a header map is ``Map<Array<Bytes>>``).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Primitive:
    """One of the four scalar types."""

    name: str

    def __str__(self) -> str:
        return self.name


@dataclass(frozen=True, slots=True)
class Array:
    """An ordered list of values of one type (indexed with ``[0]``, mapped with ``[*]``)."""

    element: ValueType

    def __str__(self) -> str:
        return f"Array<{self.element}>"


@dataclass(frozen=True, slots=True)
class Map:
    """Values of one type by string key (indexed with ``["key"]``, mapped with ``[*]``)."""

    element: ValueType

    def __str__(self) -> str:
        return f"Map<{self.element}>"


ValueType = Primitive | Array | Map

BYTES = Primitive("Bytes")
INT = Primitive("Int")
BOOL = Primitive("Bool")
IP = Primitive("Ip")
BYTES_ARRAY = Array(BYTES)
BYTES_MAP = Map(BYTES_ARRAY)
