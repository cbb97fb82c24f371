"""The top layer's shape (issue 25 item 4), read from the sources (ast) and checked live:

- ``byzpgd.audit`` is the audit package, a plain module: no module anywhere in the library assigns
  a module's ``__class__`` (the swap that once made the package callable);
- no library module defines a module-level function (or binds a name) ``test_*``, which pytest
  would collect as a test when the module is imported by a test file;
- the verify pool reads no private attribute of the executor (``pool._processes``): it keeps
  its own list of workers (:class:`byzpgd._pool.KillablePool`), and ends them with it.

Each static check is also run on a small source with the fault, to show it catches it.
"""

import ast
import os
import signal
import time
import types
from pathlib import Path

import pytest

import byzpgd
from byzpgd import _pool, api

ROOT = Path(__file__).resolve().parents[1]
LIBRARY = ("theory", "algorithms", "oracles", "experiments", "properties", "reports", "audit", "byzpgd")


def _sources(parts=LIBRARY):
    for part in parts:
        for path in sorted((ROOT / part).rglob("*.py")):
            yield str(path.relative_to(ROOT)), path.read_text(encoding="utf-8")


# --- checkers ------------------------------------------------------------------------------------
def class_swaps(source: str) -> list[int]:
    """Lines that assign some object's ``__class__`` (``x.__class__ = C`` or
    ``setattr(x, "__class__", C)``)."""
    out = []
    for node in ast.walk(ast.parse(source)):
        targets = node.targets if isinstance(node, ast.Assign) else (
            [node.target] if isinstance(node, ast.AnnAssign | ast.AugAssign) else [])
        out += [node.lineno for t in targets if isinstance(t, ast.Attribute) and t.attr == "__class__"]
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "setattr"
                and len(node.args) >= 2 and isinstance(node.args[1], ast.Constant)
                and node.args[1].value == "__class__"):
            out.append(node.lineno)
    return out


def collectable_test_names(source: str) -> list[str]:
    """Module-level names pytest would collect as test functions: ``def test_*`` and
    ``test_* = ...`` (an alias of a function is collected as well)."""
    out = []
    for node in ast.parse(source).body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name.startswith("test"):
            out.append(node.name)
        elif isinstance(node, ast.Assign | ast.AnnAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            out += [t.id for t in targets if isinstance(t, ast.Name) and t.id.startswith("test")]
    return out


def private_pool_reads(source: str) -> list[int]:
    """Lines that read a private attribute of a concurrent.futures executor's internals
    (``_processes``, ``_pending_work_items``, ``_executor_manager_thread``, ...) by attribute or
    by ``getattr(pool, "_processes", ...)``."""
    private = {"_processes", "_pending_work_items", "_executor_manager_thread", "_call_queue",
               "_result_queue", "_threads", "_work_ids"}
    out = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Attribute) and node.attr in private:
            out.append(node.lineno)
        elif (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
              and node.func.id in ("getattr", "vars") and len(node.args) >= 2
              and isinstance(node.args[1], ast.Constant) and node.args[1].value in private):
            out.append(node.lineno)
    return out


# --- the checkers catch the faults -----------------------------------------------------------------
@pytest.mark.parametrize("source", [
    "from . import audit as _p\n_p.__class__ = _CallablePackage\n",
    "import sys\nsetattr(sys.modules[__name__], '__class__', _M)\n",
    "def _late():\n    from . import audit\n    audit.__class__ = _C\n",
])
def test_a_class_swap_is_found(source):
    assert class_swaps(source)


def test_reading_a_class_is_not_a_swap():
    assert class_swaps("name = type(x).__name__\nk = x.__class__\nisinstance(x, y.__class__)\n") == []


@pytest.mark.parametrize("source, name", [
    ("def test_group(spec):\n    return spec['family']\n", "test_group"),
    ("def instance_group(spec):\n    return 1\n\n\ntest_group = instance_group\n", "test_group"),
    ("async def test_run():\n    pass\n", "test_run"),
])
def test_a_collectable_test_name_is_found(source, name):
    assert collectable_test_names(source) == [name]


def test_names_that_pytest_does_not_collect_are_allowed():
    src = ("def instance_group(s):\n    def test_inner():\n        pass\n    return test_inner\n\n\n"
           "def group_tests(x):\n    return x\n")
    assert collectable_test_names(src) == []


@pytest.mark.parametrize("source", [
    "procs = list(pool._processes.values())\n",
    "procs = list((getattr(pool, '_processes', None) or {}).values())\n",
])
def test_a_private_pool_read_is_found(source):
    assert private_pool_reads(source)


# --- the library --------------------------------------------------------------------------------
def test_no_module_class_is_swapped():
    found = {rel: lines for rel, src in _sources() if (lines := class_swaps(src))}
    assert found == {}


def test_byzpgd_audit_is_a_plain_package_and_the_function_has_its_own_names():
    import byzpgd.audit.run as run

    assert type(byzpgd.audit) is types.ModuleType and byzpgd.audit.run is run
    assert not callable(byzpgd.audit)
    assert byzpgd.audit_aggregator is api.audit_aggregator is api.audit
    assert byzpgd.audit.audit.__doc__ and "audit_aggregator" in byzpgd.audit.audit.__doc__


def test_no_library_function_is_named_like_a_test():
    found = {rel: names for rel, src in _sources() if (names := collectable_test_names(src))}
    assert found == {}


def test_no_private_attribute_of_an_executor_is_read():
    found = {rel: lines for rel, src in _sources(("byzpgd", "experiments", "properties", "audit"))
             if (lines := private_pool_reads(src))}
    assert found == {}


# --- KillablePool: its own list of workers, ended at once ---------------------------------------------
def _ignore_term() -> None:
    signal.signal(signal.SIGTERM, signal.SIG_IGN)


def _pid() -> int:
    return os.getpid()


def _mark_and_sleep(path: str) -> None:
    Path(path).write_text(str(os.getpid()))
    while True:
        time.sleep(60)


def _busy(pool, folder: Path, n: int) -> list:
    """Submit n endless tasks and return once each is running in a worker (its marker file written)."""
    futures = [pool.submit(_mark_and_sleep, str(folder / f"started-{i}")) for i in range(n)]
    give_up = time.monotonic() + 120.0   # a safety stop against a hang, not a speed requirement
    while not all((folder / f"started-{i}").exists() for i in range(n)):
        if time.monotonic() > give_up:
            pytest.fail("the tasks never started")
        time.sleep(0.01)
    return futures


@pytest.mark.parametrize("ignore_term", [False, True])
def test_end_now_ends_busy_workers_it_tracked_itself(ignore_term, monkeypatch, tmp_path):
    """The workers the pool recorded are the processes that ran its tasks; end_now ends them while
    they are busy, a worker that ignores SIGTERM by SIGKILL after the grace period."""
    monkeypatch.setattr(_pool, "TERM_GRACE_SECONDS", 0.5)
    pool = _pool.KillablePool(2, initializer=_ignore_term if ignore_term else None)
    try:
        pids = {pool.submit(_pid).result() for _ in range(4)}
        _busy(pool, tmp_path, 2)
        tracked = {p.pid for p in pool.workers}
        assert pids <= tracked and len(tracked) == 2
        pool.end_now()
        assert pool.running() == []
    finally:   # whatever failed, no worker outlives the test
        for proc in pool.running():
            proc.kill()


def test_shutdown_alone_leaves_a_busy_worker_running(tmp_path):
    """The wrong variant (what ``shutdown(wait=False, cancel_futures=True)`` alone does): a busy
    worker survives it, so the check above can fail."""
    pool = _pool.KillablePool(1)
    _busy(pool, tmp_path, 1)
    pool.executor.shutdown(wait=False, cancel_futures=True)
    try:
        assert pool.running() == pool.workers
    finally:
        pool.end_now()
    assert pool.running() == []
