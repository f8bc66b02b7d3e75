"""The one error type of perception."""


class PerceptionError(RuntimeError):
    """A backend could not turn its inputs into observations; the message says why."""
