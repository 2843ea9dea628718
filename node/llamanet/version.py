"""The distribution version, read from the installed package metadata."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("llamanet")
except PackageNotFoundError:  # running from a source tree without an install
    __version__ = "0.0.0+source"
