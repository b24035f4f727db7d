"""Errors every package may raise; this module imports nothing of ours."""


class CommandError(RuntimeError):
    """A command failed for a reason the user can fix; printed without a traceback."""
