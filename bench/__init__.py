"""Benchmarks (run as scripts; results in docs/benchmarks.md).

- ``node_throughput``   node vs llama-server vs llama-cpp-python: single stream and 1/4/8 concurrent.
- ``routing_overhead``  a forwarded stream vs the same stream sent directly.
- ``prefix_reuse``      a request whose prefix a generating slot holds, prompt cache on vs off.
- ``prefix_routing``    cold/warm bursts on one node and multi-tenant chats on a swarm vs llama-servers
                        behind a round-robin proxy (``rrproxy``), with ``chatload``'s timed chats.
- ``dht_lookup``        DHT lookup latency and hops at 10/100/500 in-process nodes.
- ``partition_heal``    two sites behind a real NAT cut apart and healed: serving while cut off, re-merge
                        time in seconds and heartbeats (root: network namespaces).
- ``dht_hostile``       DHT lookups with 20 % hostile in-process nodes, the #14 defences on vs off;
  ``dht_hostile_swarm`` (one run: build, attack, look up), ``dht_attackers`` (sybil storers, bogus
  contacts, replayers), ``dht_defences_off`` (the bench-only switch), ``dht_hostile_report`` (plan, table).
"""
