"""Errors every package may raise, and how to print them; this module imports only the
domain words."""

import re

from graph.domain import CONTROL_CHARACTERS

_CONTROL = re.compile(CONTROL_CHARACTERS)


def printable(text: str) -> str:
    """``text`` with its control characters escaped (ESC as ``\\x1b``): what a message
    quotes from a file or a request must not drive the terminal it is printed on."""
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", text)


class CommandError(RuntimeError):
    """A command failed for a reason the user can fix; printed without a traceback."""
