"""The ``graphrails`` command line: the composition root that wires every package."""
