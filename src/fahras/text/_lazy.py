"""A value built on first use, once, even when several threads ask at the same time."""

from __future__ import annotations

import threading
from typing import Callable, Generic, TypeVar

T = TypeVar("T")
_UNSET = object()


class Lazy(Generic[T]):
    """Holds a read-only resource (a detector, a dictionary) built by ``factory`` on first use."""

    def __init__(self, factory: Callable[[], T]):
        self._factory = factory
        self._value: object = _UNSET
        self._lock = threading.Lock()

    def get(self) -> T:
        value = self._value
        if value is _UNSET:
            with self._lock:
                if self._value is _UNSET:
                    self._value = self._factory()
                value = self._value
        return value  # type: ignore[return-value]

    @property
    def loaded(self) -> bool:
        return self._value is not _UNSET
