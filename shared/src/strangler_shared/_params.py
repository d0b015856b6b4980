"""How every HTTP API of the project reads integers, so both sides of a migrated route agree.

A JSON number with an integral value (``8.0``) is an integer in JSON Schema, so a body field
typed ``integer`` takes it; a string, a boolean or ``8.5`` stays a validation error. A path or
query integer is ASCII digits only: Python's ``int()`` would also take ``"7\\u00a0"``, ``" 7"``,
``"+7"`` or Arabic-Indic digits, which one framework accepts and the other refuses. Ids are
bounded to int64, the range every database and the gRPC contracts can hold.
"""

import re
from typing import Any

from pydantic import BeforeValidator
from pydantic_core import PydanticCustomError

INT64_MIN = -(2**63)
INT64_MAX = 2**63 - 1

_DIGITS = re.compile(r"-?[0-9]+")


def whole_number(value: Any) -> Any:
    """Return an integral float as an int; leave anything else for the type check to judge."""
    if type(value) is float and value.is_integer():
        return int(value)
    return value


def ascii_integer(value: Any) -> Any:
    """Refuse a textual integer that is not plain ASCII digits (with an optional minus)."""
    if isinstance(value, str) and not _DIGITS.fullmatch(value):
        raise PydanticCustomError(
            "int_parsing", "Input should be a valid integer, unable to parse string as an integer"
        )
    return value


# Annotated metadata, after the Field (before it, pydantic drops the bounds from the JSON
# Schema): ``Annotated[int, Field(strict=True, ge=1), WholeNumber]``.
WholeNumber = BeforeValidator(whole_number)
AsciiInteger = BeforeValidator(ascii_integer)
