"""Routing: any node answers any request by serving it or forwarding it to the best node for its model.

Pure modules (the client imports them too; nothing here imports a web framework):
- ``view``          ``NodeView``: one node, from its signed record or a fixed URL, updated by a probe.
- ``selection``     the selection pipeline (eligible, residency, membership, probe targets, prefix, site,
                    load) and its ``Rules`` hooks.
- ``prefix``        the prefix rule: a key of a request's leading text, rendezvous hashing over node ids,
                    bounded loads (``--prefix-routing``); the router and the client apply it.
- ``prefix_holdings`` the chats this node served lately (bounded, least recently used out), which
                    ``/status`` publishes for the prefix rule's preference for a chat's history.
- ``sites``         ``SitePolicy``: the sites a request may be routed to (``--route-sites``, narrowed by
                    ``x-llamanet-allowed-sites``), the own-site preference within a load margin.
- ``retry``         the one retry policy: which failures of one node mean "try the next".
- ``bans``          ``BanList``: failing nodes are skipped for a while, with exponential backoff.
- ``decision``      ``ServeHere`` or ``Forward``: the router's answer; the model a request is for.
- ``tape``          what a forwarded stream's client was sent (whole SSE events, the text), the splice of a
                    continuation into it, and the continuation body (``llamanet_continuation``).
- ``errors``        the routing exceptions.

With I/O:
- ``lookup_cache``  ``LookupCache``: bounded, single-flight cache of swarm lookups (node and client).
- ``address_proofs`` ``AddressProofs``: a record's URL proves the record's key before it gets traffic
                    (node and client; cached per record seq).
- ``capped``        reading a peer's answer within a byte cap and an idle timeout (and small JSON GETs).
- ``candidates``    ``plan``: eligible views, two probed (``/status`` validated), in pipeline order.
- ``directory``     ``SwarmDirectory``: this node's cached DHT lookups as ``NodeView`` lists.
- ``recent_models`` ``RecentModels``: models served lately (a vanished one is a 503, not a 404).
- ``members``       ``CertifiedPeers``: with a swarm authority, whose forwarded work is taken (the sender's
                    record and its certificate chain, checked with the current clock).
- ``forwarder``     HTTP forwarding with failover before the first token; ``Upstream`` byte streams
                    (a break after it: ``StreamBrokeError``, or ``ending_with_failure``'s error event).
- ``router``        ``RequestRouter``: decide (serve here or forward) and forward.
- ``resume``        ``resuming``: a forwarded stream that breaks mid-way continued on another node (or
                    here, through the API's ``local``), as one stream; else an ``upstream_failed`` event.
"""
