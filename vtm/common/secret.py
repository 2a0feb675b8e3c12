"""Secrets (PINs) as a type that never shows its value.

Kept apart from :mod:`vtm.common.masking` (which re-exports it) so the smallest possible module
holds the one value the kiosk must never record: devices, the dialog and logs share it.
"""

from __future__ import annotations

import hmac
from typing import Any, Final, NoReturn, final

from pydantic import GetCoreSchemaHandler
from pydantic_core import core_schema

__all__ = ["PIN_MASK", "Secret"]

PIN_MASK: Final = "******"
"""What a PIN (or any secret) looks like wherever it is shown, whatever its length."""


@final
class Secret:
    """A secret (a PIN) that never shows its value: ``str``, ``repr``, f-strings and pydantic
    serialisation give ``******``; pickling is refused (a PIN never leaves the process). Only the core-banking
    call uses :meth:`reveal`. Comparison is constant-time.

    >>> pin = Secret("123456")
    >>> f"{pin}", repr(pin)
    ('******', "Secret('******')")
    """

    __slots__ = ("__value",)

    def __init__(self, value: str) -> None:
        self.__value = value

    def reveal(self) -> str:
        return self.__value

    def __str__(self) -> str:
        return PIN_MASK

    def __repr__(self) -> str:
        return f"Secret({PIN_MASK!r})"

    def __format__(self, spec: str) -> str:
        return format(PIN_MASK, spec)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and hmac.compare_digest(
            self.__value.encode(), other.__value.encode()
        )

    __hash__ = None  # type: ignore[assignment]  # equal secrets must not be findable by hash

    def __copy__(self) -> Secret:
        return self  # immutable; copying models that hold a PIN must not fail

    def __deepcopy__(self, memo: dict[int, object]) -> Secret:
        return self

    def __reduce__(self) -> NoReturn:
        raise TypeError("a Secret cannot be pickled or copied out of the process")

    @classmethod
    def __get_pydantic_core_schema__(
        cls, source: Any, handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        return masked_string_schema(cls)


def masked_string_schema(cls: type[Any]) -> core_schema.CoreSchema:
    """Pydantic schema of a self-masking string wrapper (``Secret``, ``PII``): built from a plain
    string or taken as is, and serialised through its own masking ``str()``."""

    def validate(value: object) -> Any:
        if isinstance(value, cls):
            return value
        if isinstance(value, str):
            return cls(value)
        raise TypeError("expected a string")

    return core_schema.no_info_plain_validator_function(
        validate, serialization=core_schema.plain_serializer_function_ser_schema(str)
    )
