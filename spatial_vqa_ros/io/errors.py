"""The one error type of the io subpackage."""

from __future__ import annotations


class DataIOError(Exception):
    """Data that cannot be read or written: a bad bag, image or CameraInfo.

    The message always names what was wrong (and the file, where there is one) and,
    where there is one, what to do. Errors of other libraries (rosbags, sqlite3) are
    turned into this type, so callers catch one exception.
    """
