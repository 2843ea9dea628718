"""The release version, read from the installed ``llamanet-common`` metadata (node and operator ship it)."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("llamanet-common")
except PackageNotFoundError:  # running from a source tree without an install
    __version__ = "0.0.0+source"
