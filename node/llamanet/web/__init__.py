"""The node's web UI: a chat that streams from any model in the swarm, and a live swarm view.

- ``routes``           ``install_web``: ``/`` serves ``static/index.html``, ``/static`` the assets,
  ``/ui/config`` the node's settings for the page (``--ui-store-history``).
- ``static/``          our own page: ``index.html``, ``css/app.css`` and ES modules in ``js/``:
  ``main.js`` (wiring), ``api.js`` (fetch with the API key, readable errors), ``sse.js`` (SSE parser),
  ``chat.js`` (one answer in native or OpenAI mode, stop), ``render.js`` (sanitized markdown),
  ``history.js`` (the conversation kept in localStorage, and whether it may be: "store nothing", the
  node's ``/ui/config``), ``messages.js`` (the messages on the page, Copy and Regenerate),
  ``clipboard.js`` (copy with a fallback for plain http), ``network.js`` (swarm panel), ``prefs.js``
  (settings kept in localStorage).
- ``static/vendor/``   third-party libraries (marked, DOMPurify, highlight.js), gitignored: built from
  ``web/package-lock.json`` by ``scripts/build-web.sh`` (``make web``). Without them the page still
  works and shows replies as plain text.

Nothing is fetched from outside the node at run time: the page works air-gapped.
"""
