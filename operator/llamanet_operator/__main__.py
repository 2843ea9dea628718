"""``python -m llamanet_operator`` is the ``llamanet-operator`` command."""

from llamanet_operator.cli import main

raise SystemExit(main())
