"""Swarm: the Kademlia DHT through which LlamaNet nodes find each other.

- ``errors``      the package's exception tree (invalid/stale/expired/uncertified records, full storage,
                  contact proofs that do not hold).
  (Node keys and the record format live in ``llamanet_common.identity`` and ``llamanet_common.record``.)
- ``validation``  ``RecordLimits`` and ``parse_record``: pure checks applied by storing peers and readers,
                  the membership certificate among them when the limits name swarm authorities.
- ``keys``        DHT key names (``node:{id}``, ``model:{name}``, ``all_nodes``) and which records fit them.
- ``merge``       pure entry-set decisions: newer-wins, union by node id, visibility, per-key eviction.
- ``storage``     ``EntryStore``: a storing peer's per-(key, node id) entries, capped and expiring.
- ``wire``        datagram framing (frame v2): version, timestamp and nonce, sender's advertised contact,
                  padding, size limit, client flag, optional swarm-secret HMAC.
- ``transport``   ``FramedTransport``: frames every datagram, pads requests, holds replies to unproven
                  senders to 3x their request (amplification bound).
- ``contact``     pure checks of an advertised contact address (where a sender is filed and reached).
- ``proofs``      pure contact proofs: the ``prove`` challenge's signed answer (key, signature, contact,
                  certificate chain), its checks (the id is the key's hash; with authorities, the chain),
                  ``ProvenContacts``, the bounded cache of proven contacts.
- ``admission``   ``Admission``: a contact enters the routing table only once it proved its id at its
                  address; one contact per endpoint, a per-address cap, refusals remembered a while,
                  contacts whose certificate ended dropped.
- ``rpc``         ``RetryingProtocol``: rpcudp calls resent after ``rpc_retry_s`` (doubling, bounded, within
                  the timeout), duplicate answers dropped, addresses proved by their answers.
- ``peers``       DNS resolution of bootstrap peers and advertised hosts, which configured peers to (re)join,
                  the retry backoff schedule and the retry loop (tries overlap: none waits for the one
                  before to time out).
- ``config``      ``SwarmConfig``: heartbeat, TTL, limits, caps, timeouts, swarm secret, advertised address.
- ``protocol``    ``SwarmProtocol``: kademlia's protocol with framing, replay window, contact admission,
                  client-flag handling, the ``prove`` answer, entry RPCs.
- ``crawl``       ``EntryCrawl``: iterative lookup that unions entry sets from all k closest peers.
- ``lookup``      pure reader side: raw entries from many peers -> validated, merged, visible records.
- ``server``      ``SwarmServer``: kademlia's ``Server`` with join, per-entry store and set lookup.
- ``node``        ``SwarmNode``: a full member; heartbeat publishing, withdraw on stop, status snapshot.
- ``client``      ``SwarmClient``: read-only queries that never enter other nodes' routing tables.

Keys: ``node:{id}`` (one node's record), ``model:{name}`` and ``all_nodes`` (sets of records, one
entry per node id at each storing peer). Values are signed JSON records, never pickle.
"""
