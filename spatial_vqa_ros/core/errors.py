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
