"""The ``llamanet`` console command.

- ``main``        argument parsing, settings (read once), dispatch, error-to-exit-code mapping.
- ``node_cmd``    ``llamanet node``: the seed's ``inference_node.server`` with the same flags.
- ``models_cmd``  ``llamanet models pull|list|path``.
- ``swarm_cmd``   ``llamanet status`` and ``llamanet monitor``: the swarm's nodes from the DHT.
- ``certs_cmd``   ``llamanet swarm authority create``, ``swarm pubkey``, ``swarm cert issue``: authority keys
                  and membership certificates.
- ``check_cmd``   ``llamanet check``: discovery, every node's /health, one generation per model.
- ``swarm_view``  pure rendering for those: node table, per-model counts, JSON, join/leave changes.
"""
