"""LlamaNet's Kubernetes operator: ``LlamaNode`` resources reconciled into StatefulSets and Services.

Map (pure modules first; only ``kube`` and ``handlers`` talk to the API server):

- ``errors``       the operator's exception tree (from ``llamanet_common.errors.LlamaNetError``).
- ``settings``     ``OperatorSettings``: the operator's environment, read once.
- ``spec``         ``LlamaNodeSpec``: the CRD's spec as typed models, plus ``parse_spec``.
- ``policy``       what a LlamaNode may ask for: image prefixes, env sources, runtime/priority classes.
- ``podsecurity``  Pod Security "restricted": the pods' security contexts and a checker of pod specs.
- ``names``        names, labels, ports, the GPU resource, stable DNS names, the bootstrap list, owner
                   references, endpoint URL.
- ``podenv``       the node container's environment (``llamanet node`` settings) from a spec.
- ``statefulset``  the StatefulSet: init container (model pull), node container, volumes, GPUs.
- ``services``     headless, client (OpenAI endpoint) and DHT Services; the PodDisruptionBudget.
- ``podservices``  ``swarm.podServices``: one external Service per replica, and each pod's own address
                   (NodePorts, load balancer ingress) from the observed Services -> ConfigMap.
- ``authority``    the operator's swarm authority (key and delegation from a mounted Secret), its checks,
                   the roots a LlamaNode's pods trust and the scope of their certificates.
- ``certificates`` the pods' membership certificates: issue, keep, renew, drop -> ConfigMap ``<name>-certs``.
- ``status``       observations -> status: phase, conditions with transitions, swarm summary.
- ``scrape``       a node's ``/metrics`` answer -> ``NodeSample`` (queue, slots, the swarm it sees, its
                   public key and certificate end).
- ``observe``      pure readers of pods, kubelet mount failures and the swarm from the samples.
- ``autoscale``    ``spec.autoscaling``: the pods' queue depth -> desired replicas (scale-down delay).
- ``kube``         thin I/O: server-side apply, reads, events, the node's HTTP API.
- ``reconcile``    one reconcile pass, the pods' address and certificate publication and one observation
                   pass, raising operator errors.
- ``handlers``     kopf handlers (thin): configure kopf, map operator errors to kopf errors.
- ``run``          ``run_operator``: kopf's entry point, one scope (namespaces or cluster).
- ``cli``          the ``llamanet-operator`` command: flags -> ``OperatorSettings``, logging, exit codes.
- ``__main__``     ``python -m llamanet_operator``, the same command.

Imports only ``llamanet_common`` (the formats shared with the node) and its own modules: no node
internals (an import-linter contract in ``pyproject.toml``, checked by ``make lint``).
"""
