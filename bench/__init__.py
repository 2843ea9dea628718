"""Benchmarks (run as scripts; results in docs/benchmarks.md).

- ``node_throughput``   node vs llama-server vs llama-cpp-python: single stream and 1/4/8 concurrent.
- ``routing_overhead``  a forwarded stream vs the same stream sent directly.
- ``dht_lookup``        DHT lookup latency and hops at 10/100/500 in-process nodes.
- ``partition_heal``    two sites behind a real NAT cut apart and healed: serving while cut off, re-merge
                        time in seconds and heartbeats (root: network namespaces).
- ``dht_hostile``       DHT lookups with 20 % hostile in-process nodes, the #14 defences on vs off;
  ``dht_hostile_swarm`` (one run: build, attack, look up), ``dht_attackers`` (sybil storers, bogus
  contacts, replayers), ``dht_defences_off`` (the bench-only switch), ``dht_hostile_report`` (plan, table).
"""
