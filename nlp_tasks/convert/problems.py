"""The coded errors every converter raises for the same problems, for plugins' converters."""

from typing import Any

from ..errors import DataError, Errors


def empty_input(path: Any, what: str) -> DataError:
    """The error for an input that holds nothing to convert.

    path (Any): The input, as it is named to the user.
    what (str): What it should hold, plural: "sentences", "questions".
    RETURNS (DataError): ``[E105]``, to raise.
    """
    return DataError(Errors.E105.format(path=path, what=what))


def unparsable(where: str, what: str, error: Any) -> DataError:
    """The error for a part of an input that does not parse.

    where (str): The place, e.g. ``where(path, line)``.
    what (str): What did not parse, e.g. "the JSON".
    error (Any): The parser's complaint.
    RETURNS (DataError): ``[E104]``, to raise.
    """
    return DataError(Errors.E104.format(where=where, what=what, error=error))


def undecodable(where: str, encoding: str, error: Any) -> DataError:
    """The error for bytes that are not valid text in the input's encoding.

    where (str): The place.
    encoding (str): The encoding tried.
    error (Any): The decoder's complaint.
    RETURNS (DataError): ``[E116]``, to raise.
    """
    return DataError(Errors.E116.format(where=where, encoding=encoding, error=error))
