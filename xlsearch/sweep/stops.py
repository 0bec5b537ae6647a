"""Ctrl-C (SIGINT) and SIGTERM during `xlsearch run`: one clean stop for both.

Tune has a clean stop of its own. On its interrupt event (Ray 2.60, ``ray/tune/tune.py``) it
leaves its loop, saves the experiment state with the running trials still unfinished (so the
same command resumes them), asks the trial actors to stop (kills them after 5 s) and returns.
``tune.run`` sets that event from its SIGINT handler (unless ``TUNE_DISABLE_SIGINT_HANDLER=1``)
and from its SIGUSR1 handler (always); SIGTERM it leaves to Python, which killed the driver on
the spot, its MLflow runs left RUNNING. And an interrupted ``Tuner.fit`` returns its results as
if the sweep had ended: xlsearch declared a best trial and exited 0.

:class:`StopSignals` catches both signals for the whole of `xlsearch run` and remembers the
first. While Tune runs (:meth:`StopSignals.tune_running`) that first signal sets Tune's event
through Tune's SIGUSR1 handler, so the sweep stops by Tune's clean path and the caller sees
:attr:`StopSignals.received`. Outside it (Ray's start, calibration, intermediate tuning, the
sweep's end) and on a second signal, :class:`SweepInterrupted` is raised at once.
"""
from __future__ import annotations

import contextlib
import os
import signal
import threading
from collections.abc import Iterator
from typing import Any

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)
TUNE_SIGINT_ENV = "TUNE_DISABLE_SIGINT_HANDLER"


class SweepInterrupted(KeyboardInterrupt):
    """The sweep was stopped by a signal. A KeyboardInterrupt, so that no ``except Exception``
    on the way swallows it; the exit code is 128 + the signal's number (130, 143)."""

    def __init__(self, signum: int, summary: dict[str, Any] | None = None):
        super().__init__(signum)
        self.signum, self.summary = signum, summary

    @property
    def signal_name(self) -> str:
        return signal.Signals(self.signum).name

    @property
    def exit_code(self) -> int:
        return 128 + self.signum


class StopSignals:
    """SIGINT and SIGTERM stop the sweep (see the module), from :meth:`install` to :meth:`restore`."""

    def __init__(self):
        self.received: int | None = None
        self._in_tune = False
        self._previous: dict[int, Any] = {}
        self._previous_env: str | None = None

    def install(self) -> StopSignals:
        if threading.current_thread() is threading.main_thread():  # Python delivers signals there only
            self._previous_env = os.environ.get(TUNE_SIGINT_ENV)
            os.environ[TUNE_SIGINT_ENV] = "1"  # Tune would replace our SIGINT handler with its own
            self._previous = {sig: signal.signal(sig, self._handle) for sig in STOP_SIGNALS}
        return self

    def restore(self) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)
        if self._previous:
            if self._previous_env is None:
                os.environ.pop(TUNE_SIGINT_ENV, None)
            else:
                os.environ[TUNE_SIGINT_ENV] = self._previous_env
        self._previous = {}

    @contextlib.contextmanager
    def tune_running(self) -> Iterator[None]:
        self._in_tune = True
        try:
            yield
        finally:
            self._in_tune = False

    def _handle(self, signum: int, frame) -> None:
        first = self.received is None
        if first:
            self.received = signum
        tune_stop = signal.getsignal(signal.SIGUSR1)  # Tune's, once tune.run has started
        if not (first and self._in_tune and callable(tune_stop)):
            raise SweepInterrupted(signum)
        name = signal.Signals(signum).name
        # os.write, not print: the handler may run while the main thread is inside a print.
        os.write(2, (f"xlsearch: {name}: stopping the sweep; running trials stop and continue from their "
                     f"last round when the same command runs again ({name} again: stop at once)\n").encode())
        tune_stop(signal.SIGUSR1, frame)
