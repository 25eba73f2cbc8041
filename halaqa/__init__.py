"""Halaqa: the live side of an online academy."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("halaqa")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0"
