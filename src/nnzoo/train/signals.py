"""SIGINT (Ctrl-C) and SIGTERM (what ``kill``, ``timeout`` and cluster schedulers send) alike.

While training runs, either signal raises :class:`Stopped` at once, wherever the loop is: the
loop then puts back the state of the last finished epoch, so nothing half-updated is kept. While
a checkpoint or a result is being written (:meth:`StopSignals.deferred`), a signal is held and
raised when the write is complete, so what is on disk is always whole.
"""

from __future__ import annotations

import signal
import threading
from contextlib import contextmanager

SIGNALS = (signal.SIGINT, signal.SIGTERM)


class Stopped(KeyboardInterrupt):
    """Training was stopped by ``signum``; ``exit_status`` is what a shell reports for it
    (130 for SIGINT, 143 for SIGTERM). A KeyboardInterrupt, so a script that does not catch it
    stops as on any Ctrl-C."""

    def __init__(self, signum: int = signal.SIGINT):
        self.signum = int(signum)
        super().__init__(self.signal_name)

    @property
    def exit_status(self) -> int:
        return 128 + self.signum

    @property
    def signal_name(self) -> str:
        return signal.Signals(self.signum).name


class StopSignals:
    """Context manager: SIGINT and SIGTERM raise :class:`Stopped` inside it (in the main
    thread; elsewhere Python delivers no signals, and nothing is changed)."""

    def __init__(self):
        self._previous: dict[int, object] = {}
        self._held: int | None = None
        self._deferring = 0

    def _handle(self, signum, frame):
        if self._deferring:
            self._held = signum
            return
        raise Stopped(signum)

    def __enter__(self):
        if threading.current_thread() is threading.main_thread():
            for signum in SIGNALS:
                self._previous[signum] = signal.signal(signum, self._handle)
        return self

    def __exit__(self, *exc):
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)
        self._previous.clear()

    @contextmanager
    def deferred(self, *, release: bool = True):
        """Hold signals while the block writes; raise a held one after it (``release``)."""
        self._deferring += 1
        try:
            yield
        finally:
            self._deferring -= 1
        if release and not self._deferring and self._held is not None:
            signum, self._held = self._held, None
            raise Stopped(signum)

    def raise_held(self) -> None:
        if self._held is not None:
            signum, self._held = self._held, None
            raise Stopped(signum)
