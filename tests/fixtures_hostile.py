"""Rules that attack the process that calls them (issue 21, item 5), imported by the audit's sandbox
as ``fixtures_hostile:NAME`` with ``--path tests``. Each computes the coordinate-wise median after
its attack, so that a harness that does not notice the attack would grade it like the median."""

import os
import signal

import numpy as np


def _median(X):
    return np.median(X, axis=0)


def kills_parent(X):
    """SIGKILL to its parent process (``byzpgd audit`` itself when the rule is its direct child)."""
    os.kill(os.getppid(), signal.SIGKILL)
    return _median(X)


def terms_parent(X):
    """SIGTERM to its parent process; carries on and answers."""
    os.kill(os.getppid(), signal.SIGTERM)
    return _median(X)


def stops_parent(X):
    """SIGSTOP to its parent process (cannot be caught or blocked); carries on and answers."""
    os.kill(os.getppid(), signal.SIGSTOP)
    return _median(X)


def kills_group(X):
    """SIGKILL to its whole process group (itself included)."""
    os.killpg(os.getpgrp(), signal.SIGKILL)
    return _median(X)


def terms_group(X):
    """SIGTERM to its whole process group (itself included: it dies of it unless it is blocked)."""
    os.killpg(os.getpgrp(), signal.SIGTERM)
    return _median(X)


def kills_ancestors(X):
    """SIGKILL to every ancestor it can find through /proc (parent, grandparent, ... below pid 1):
    the caller, found without ``getppid``."""
    pid = os.getppid()
    while pid > 1:
        try:
            with open(f"/proc/{pid}/status") as fh:
                ppid = int(next(line.split()[1] for line in fh if line.startswith("PPid:")))
        except (OSError, StopIteration, ValueError):
            ppid = 0
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass
        pid = ppid
    return _median(X)


class KillsParentWhenBuilt:
    """Kills its parent in its constructor: while the sandbox loads the rule."""

    def __init__(self, f):
        os.kill(os.getppid(), signal.SIGKILL)
        self.f = f

    def __call__(self, X):
        return _median(X)


def median(X):
    """Harmless: the control of the tests."""
    return _median(X)


PICKLE_MARK = f"/tmp/byzpgd-hostile-pickle-{os.getuid()}"


class _RunsInTheCaller:
    """Unpickled with plain ``pickle.loads``, this creates :data:`PICKLE_MARK` in the caller."""

    def __reduce__(self):
        return (os.mkdir, (PICKLE_MARK,))


def sends_a_pickle(X):
    """Writes a reply of its own to every socket it holds: a pickle that runs code when loaded."""
    from multiprocessing.connection import Connection
    for fd in os.listdir("/proc/self/fd"):
        try:
            if os.readlink(f"/proc/self/fd/{fd}").startswith("socket:"):
                with Connection(os.dup(int(fd)), readable=False) as conn:
                    conn.send(("ok", _RunsInTheCaller()))
        except OSError:
            pass
    return _median(X)
