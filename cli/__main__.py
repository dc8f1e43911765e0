"""``python -m cli``: the ``register`` command without its installed script."""

from cli.main import main

main()
