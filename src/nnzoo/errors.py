"""The one exception type nnzoo raises for bad input.

The CLI turns it into a one-paragraph message on stderr and exit status 2. It subclasses
ValueError so that library callers can catch it the way they catch any bad argument.
"""


class NnzooError(ValueError):
    """Bad input: the message names what was wrong and what was expected."""
