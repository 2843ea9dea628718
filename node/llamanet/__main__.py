"""``python -m llamanet`` is the ``llamanet`` command."""

from llamanet.cli.main import main

raise SystemExit(main())
