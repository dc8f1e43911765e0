"""The ``register`` command: the operator's entry to the register (``cli.main``)."""
