"""The ``llamanet`` console command.

- ``main``        argument parsing, settings (read once), dispatch, error-to-exit-code mapping.
- ``node_cmd``    ``llamanet node``: the seed's ``inference_node.server`` with the same flags.
- ``models_cmd``  ``llamanet models pull|list|path``.
"""
