"""The one error type of the core."""

from __future__ import annotations


class CoreError(ValueError):
    """Input the core cannot turn into a correct number.

    The message always says what was wrong and, where there is one, what to do.
    """


class UnknownObjectError(CoreError):
    """A query named an object that is not in the scene graph (or is ambiguous).

    ``known`` lists the names the caller could have used instead.
    """

    def __init__(self, message: str, known: tuple[str, ...] = ()) -> None:
        super().__init__(message)
        self.known = known


#: The longest user-given text echoed back in an error (a 100 kB name is not repeated).
ECHO_LIMIT = 80


def echo(text: str) -> str:
    """``text`` quoted for an error message, cut to :data:`ECHO_LIMIT` characters."""
    if len(text) <= ECHO_LIMIT:
        return repr(text)
    return f"{text[:ECHO_LIMIT]!r}... ({len(text)} characters)"
