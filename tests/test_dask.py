"""Scale-out on Dask (issue 14, items 1-2): byzpgd.scaleout and byzpgd.experiments.executors.

The cluster tests start a real ``dask scheduler`` and two ``dask worker`` processes on 127.0.0.1
(free ports, one thread each, no dashboard, each in its own process group; all of them are killed
at the end, also when a test fails), run a small verify (three cheap claims, quick profile, each claim's
registered check as one task, as ``byzpgd verify`` runs them) and a small calibration evaluation (instances in
chunks) through them, and compare with the local results; then kill one worker (the nanny and its
worker process) while it runs tasks and check that the run finishes with the same result.

The cluster tests need the ``dask`` extra (``make venv`` installs it) and are skipped without it;
the argument, chunking and same-code tests run either way.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import signal
import socket
import subprocess
import sys
import time
from functools import partial
from pathlib import Path

import pytest

from byzpgd import scaleout
from byzpgd.experiments import executors as ex
from byzpgd.experiments.loop import ProcessExecutor, SerialExecutor

needs_dask = pytest.mark.skipif(
    not scaleout.dask_installed(),
    reason="the optional 'dask' extra is not installed (make venv installs it: .[dev,dask])")

VERIFY_CLAIMS = ("exact_pgd.iterations", "ablation.jin_radius", "saddle_attack.robust_gd_trapped")
CALIBRATION_RUNS = 8
START_SECONDS = 60.0


# --- no cluster: arguments, chunks, same-code check --------------------------------------------------
@pytest.mark.parametrize("text, expected", [
    ("tcp://127.0.0.1:8786", "tcp://127.0.0.1:8786"),
    ("127.0.0.1:8786", "tcp://127.0.0.1:8786"),
    ("TCP://node-7.cluster.local:9000", "tcp://node-7.cluster.local:9000"),
    ("tls://[::1]:8786", "tls://[::1]:8786"),
    (" tcp://h:1 ", "tcp://h:1"),
])
def test_parse_address_accepts(text, expected):
    assert scaleout.parse_address(text) == expected


@pytest.mark.parametrize("text, says", [
    ("", "empty"),
    ("tcp://127.0.0.1", "no port"),
    ("127.0.0.1", "no port"),
    ("tcp://127.0.0.1:0", "1..65535"),
    ("tcp://127.0.0.1:65536", "1..65535"),
    ("tcp://127.0.0.1:87x6", "1..65535"),
    ("http://127.0.0.1:8786", "unknown scheme"),
    ("tcp://::1:8786", "brackets"),
    ("tcp://[zz::1]:8786", "not an IPv6"),
    ("tcp://bad_host!:8786", "not a hostname"),
    ("tcp://:8786", "no port"),
])
def test_parse_address_rejects_with_reason(text, says):
    with pytest.raises(ValueError, match=says):
        scaleout.parse_address(text)


def _parser():
    p = argparse.ArgumentParser(prog="byzpgd verify")
    p.add_argument("--jobs", type=int, default=2)
    scaleout.add_arguments(p)
    return p


@pytest.mark.parametrize("argv, says", [
    (["--scheduler", "tcp://127.0.0.1:8786", "--workers", "2"], "not allowed with argument"),
    (["--scheduler", "tcp://127.0.0.1"], "no port"),
    (["--workers", "0"], "must be an integer >= 1"),
    (["--workers", "two"], "must be an integer >= 1"),
])
def test_usage_errors(argv, says, capsys):
    with pytest.raises(SystemExit) as exc:
        _parser().parse_args(argv)
    assert exc.value.code == 2
    assert says in capsys.readouterr().err


@pytest.mark.parametrize("argv", [["--workers", "2"], ["--scheduler", "tcp://127.0.0.1:8786"]])
def test_without_dask_the_usage_error_says_how_to_install(argv, capsys, monkeypatch):
    monkeypatch.setattr(scaleout, "dask_installed", lambda: False)
    with pytest.raises(SystemExit) as exc:
        _parser().parse_args(argv)
    assert exc.value.code == 2
    assert "pip install 'byzpgd[dask]'" in capsys.readouterr().err


def test_default_is_the_local_pool():
    ns = _parser().parse_args([])
    assert ns.scheduler is None and ns.workers is None
    with scaleout.executor_from_args(ns, 1) as e:
        assert isinstance(e, ProcessExecutor) and e.jobs == 2      # ns.jobs wins over the default
    with scaleout.executor_from_args(argparse.Namespace(), 3) as e:
        assert isinstance(e, ProcessExecutor) and e.jobs == 3
    with scaleout.executor_from_args(argparse.Namespace(), 1) as e:
        assert isinstance(e, SerialExecutor)
        assert sorted(e.as_completed(abs, [-2, 1])) == [(0, 2), (1, 1)]


def test_without_dask_executor_from_args_says_how_to_install(monkeypatch):
    """The options parsed elsewhere (or a Namespace built by hand) still fail clearly."""
    def missing():
        raise ex.DaskUnavailable(f"Dask is not installed (No module named 'distributed'): {ex.INSTALL_HINT}")
    monkeypatch.setattr(ex, "require_distributed", missing)
    with pytest.raises(scaleout.ScaleOutError, match=r"pip install 'byzpgd\[dask\]'") as err:
        with scaleout.executor_from_args(argparse.Namespace(scheduler=None, workers=2), 1):
            pass
    assert err.value.exit_code == 2


@needs_dask
def test_unreachable_scheduler_is_a_clear_error(monkeypatch):
    monkeypatch.setattr(ex, "CONNECT_SECONDS", 1.0)
    ns = argparse.Namespace(scheduler=f"tcp://127.0.0.1:{_free_port()}", workers=None)
    with pytest.raises(scaleout.ScaleOutError, match="cannot reach the Dask scheduler") as err:
        with scaleout.executor_from_args(ns, 1):
            pass
    assert err.value.exit_code == 2


@pytest.mark.parametrize("n, threads", [(0, 1), (1, 4), (7, 2), (100, 3), (3000, 4)])
def test_chunks_cover_the_items_in_order(n, threads):
    items = list(range(n))
    size = ex.chunk_size(n, threads)
    parts = ex.chunks(items, size)
    assert [x for p in parts for x in p] == items
    assert all(1 <= len(p) <= size for p in parts)
    assert len(parts) <= ex.CHUNKS_PER_THREAD * threads


class _FakeClient:
    def __init__(self, fingerprints):
        self.fingerprints = fingerprints

    def run(self, fn):
        return self.fingerprints


def test_same_code_check_refuses_a_worker_with_other_code():
    here = ex.code_fingerprint()
    ex.check_same_code(_FakeClient({"tcp://a:1": here, "tcp://b:1": dict(here)}))   # equal: fine
    for key, other in (("byzpgd_source", "0" * 64), ("numpy", "1.0.0")):
        with pytest.raises(ex.ClusterError, match=f"tcp://b:1: {key}") as err:
            ex.check_same_code(_FakeClient({"tcp://a:1": here, "tcp://b:1": {**here, key: other}}))
        assert err.value.exit_code == 2


def test_fingerprint_changes_with_the_source(tmp_path, monkeypatch):
    """A one-byte change of any byzpgd source file changes the fingerprint (the check can fail)."""
    import copy as copy_module
    import importlib.util
    here = ex.code_fingerprint()
    root = Path(next(iter(importlib.util.find_spec("byzpgd.algorithms").submodule_search_locations)))
    copy = tmp_path / "algorithms"
    copy.mkdir()
    for path in root.glob("*.py"):
        (copy / path.name).write_bytes(path.read_bytes())
    target = sorted(copy.glob("*.py"))[0]
    target.write_bytes(target.read_bytes() + b" ")
    real = importlib.util.find_spec

    def find_spec(name, *a, **k):
        spec = real(name, *a, **k)
        if name == "byzpgd.algorithms":   # a copy: the real spec is the imported module's __spec__
            spec = copy_module.copy(spec)
            spec.submodule_search_locations = [str(copy)]
        return spec
    monkeypatch.setattr(importlib.util, "find_spec", find_spec)
    assert ex.code_fingerprint()["byzpgd_source"] != here["byzpgd_source"]
    monkeypatch.undo()     # nothing leaks into later tests of this process (the imported spec unchanged)
    assert ex.code_fingerprint() == here


# --- a real cluster -----------------------------------------------------------------------------------
def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _stop(proc: subprocess.Popen) -> None:
    """SIGTERM the process group of ``proc``, SIGKILL it if still alive after 5 s."""
    for sig, wait in ((signal.SIGTERM, 5.0), (signal.SIGKILL, 5.0)):
        if proc.poll() is not None:
            break
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            break
        try:
            proc.wait(wait)
        except subprocess.TimeoutExpired:
            continue


class Cluster:
    """A scheduler and named workers, each a ``python -m dask ...`` subprocess in its own process
    group; logs in ``log_dir``."""

    def __init__(self, log_dir: Path):
        self.log_dir, self.procs, self.workers = log_dir, [], {}
        self.address = f"tcp://127.0.0.1:{_free_port()}"

    def _spawn(self, name, args):
        log = open(self.log_dir / f"{name}.log", "ab")   # noqa: SIM115  (closed with the process)
        env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1"}
        proc = subprocess.Popen([sys.executable, "-m", "dask", *args], stdout=log, stderr=log,
                                stdin=subprocess.DEVNULL, start_new_session=True, env=env)
        log.close()
        self.procs.append(proc)
        return proc

    def start_scheduler(self):
        port = self.address.rsplit(":", 1)[1]
        # --idle-timeout: an orphan (the test process killed hard) stops by itself
        self._spawn("scheduler", ["scheduler", "--host", "127.0.0.1", "--port", port, "--no-dashboard",
                                  "--idle-timeout", "300"])

    def start_worker(self, name):
        # --death-timeout: a worker whose scheduler is gone stops by itself
        self.workers[name] = self._spawn(name, [
            "worker", self.address, "--name", name, "--nthreads", "1", "--nworkers", "1",
            "--host", "127.0.0.1", "--no-dashboard", "--death-timeout", "60"])

    def kill_worker(self, name):
        proc = self.workers.pop(name)
        os.killpg(proc.pid, signal.SIGKILL)      # the nanny and its worker process, at once
        proc.wait(10)

    def stop(self):
        for proc in reversed(self.procs):
            _stop(proc)

    def logs(self) -> str:
        return "\n".join(f"--- {p.name}\n{p.read_text(errors='replace')[-3000:]}"
                         for p in sorted(self.log_dir.glob("*.log")))


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    c = Cluster(tmp_path_factory.mktemp("dask-logs"))
    try:
        c.start_scheduler()
        for name in ("w0", "w1"):
            c.start_worker(name)
        yield c
    finally:
        c.stop()


@pytest.fixture(scope="module")
def executor(cluster):
    try:
        with ex.dask_client(ex.ClusterSpec(scheduler=cluster.address)) as client:
            client.wait_for_workers(2, timeout=START_SECONDS)
            yield ex.DaskExecutor(client)
    except Exception:
        print(cluster.logs(), file=sys.stderr)
        raise


def _comparable(obj):
    """A ClaimResult (or anything) as plain data without wall-clock times ('seconds' keys)."""
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        obj = dataclasses.asdict(obj)
    if isinstance(obj, dict):
        return {k: _comparable(v) for k, v in obj.items() if "seconds" not in str(k)}
    if isinstance(obj, list | tuple):
        return [_comparable(v) for v in obj]
    return obj


@needs_dask
def test_verify_through_the_cluster_equals_the_local_run(executor):
    """verify's task: one claim's registered check (``run_check``, what ``byzpgd verify`` runs per
    claim) as one Dask task, results by claim whatever the completion order."""
    from byzpgd.properties.registry import run_check

    check = partial(run_check, profile="quick", seed=0)
    local = [check(cid) for cid in VERIFY_CLAIMS]
    remote = [None] * len(VERIFY_CLAIMS)
    for i, result in executor.as_completed(check, VERIFY_CLAIMS):
        assert remote[i] is None
        remote[i] = result
    for loc, rem in zip(local, remote, strict=True):
        assert rem.id == loc.id
        assert (rem.status, rem.instances, rem.nonvacuous_instances, rem.violations, rem.errors) == \
               (loc.status, loc.instances, loc.nonvacuous_instances, loc.violations, loc.errors)
        assert rem.worst_ratio == loc.worst_ratio
        assert _comparable(rem) == _comparable(loc)      # the whole result, timings aside
    assert all(r.status == "holds" for r in local)
    # able to fail: another seed's result of the first claim is told apart by the same comparison
    assert _comparable(run_check(VERIFY_CLAIMS[0], "quick", 1)) != _comparable(local[0])


class _StubClient:
    """What ``executors.describe`` asks of a client: threads, the scheduler's address, and each
    worker's malloc variables (``run``)."""

    def __init__(self, trims):
        self.trims = trims
        self.scheduler = argparse.Namespace(address="tcp://10.0.0.1:8786")

    def nthreads(self):
        return {w: 1 for w in self.trims}

    def run(self, fn):
        assert fn is ex.malloc_environment
        return dict(self.trims)


def test_workers_with_a_malloc_threshold_are_named_with_the_fix():
    """Workers started with MALLOC_TRIM_THRESHOLD_ set and no mmap threshold (what Dask's nanny
    sets in the workers of a LocalCluster by default: about 2x slower runs) are counted in the
    cluster's progress line, with where to read how to unset it; unset, or with byzpgd's two
    thresholds, the line is the plain description."""
    unset = {"MALLOC_TRIM_THRESHOLD_": None, "MALLOC_MMAP_THRESHOLD_": None}
    dasks = {"MALLOC_TRIM_THRESHOLD_": "65536", "MALLOC_MMAP_THRESHOLD_": None}
    ours = {"MALLOC_TRIM_THRESHOLD_": "268435456", "MALLOC_MMAP_THRESHOLD_": "33554432"}
    plain = ex.describe(_StubClient({"tcp://a:1": unset, "tcp://b:2": ours}))
    assert plain == "2 Dask worker(s), 2 thread(s) at tcp://10.0.0.1:8786"
    told = ex.describe(_StubClient({"tcp://a:1": dasks, "tcp://b:2": ours}))
    assert told.startswith(plain + "; 1 of them run with MALLOC_TRIM_THRESHOLD_ set")
    assert "docs/scale-out.md" in told


@needs_dask
def test_command_line_workers_with_dasks_default_are_named(executor):
    """``dask worker`` with Dask's defaults (the cluster of these tests) runs its workers with
    MALLOC_TRIM_THRESHOLD_=65536: the real description of the cluster names both, and says where
    to read how to unset it."""
    env = executor.client.run(ex.malloc_environment)
    assert [e["MALLOC_TRIM_THRESHOLD_"] for e in env.values()] == ["65536", "65536"]
    text = ex.describe(executor.client)
    assert text.startswith("2 Dask worker(s), 2 thread(s) at tcp://127.0.0.1:")
    assert "; 2 of them run with MALLOC_TRIM_THRESHOLD_ set" in text


@needs_dask
def test_a_user_claim_runs_on_workers_that_load_its_file(executor):
    """verify's Dask task carries ``--claims-from``: a worker process that never saw the claim file
    loads it before the check, and gives the local result."""
    from pathlib import Path

    from byzpgd._verify import _check_one
    from byzpgd.properties.registry import run_check
    from byzpgd.properties.user import load_claims_from

    example = str(Path(__file__).resolve().parents[1] / "docs" / "examples" / "claim_momentum.py")
    load_claims_from(example)
    claim_id = "example.momentum_gd.grad_norm"
    local = run_check(claim_id, "quick", 0)
    task = (claim_id, "quick", 0, False, False, (example,))
    [(_, remote)] = list(executor.as_completed(_check_one, [task]))
    assert remote.status == local.status == "holds"
    assert _comparable(remote) == _comparable(local)


class _Counting:
    """A DaskExecutor that counts the chunked ``map`` calls and records the one-task claims."""

    def __init__(self, inner):
        self.inner, self.mapped, self.one_task = inner, 0, []

    def threads(self):
        return self.inner.threads()

    def map(self, fn, items):
        self.mapped += 1
        return self.inner.map(fn, items)

    def as_completed(self, fn, items):
        items = list(items)
        self.one_task += [task[0] for task in items]
        return self.inner.as_completed(fn, items)


@needs_dask
def test_verify_spreads_a_shared_claims_instances_over_the_cluster(executor, monkeypatch):
    """``verify(executor=...)``: a claim that shares the pool (exact_pgd.lambda_min) sends its
    instances to the cluster in chunks (here of 8 specs) while the other claim is one task; both
    results equal the one-process run, timings aside."""
    from byzpgd import verify
    from byzpgd.properties import runner

    claims = ["exact_pgd.lambda_min", "parameters.exponents"]
    monkeypatch.setattr(runner, "MIN_SHARE", 8)
    counting = _Counting(executor)
    remote = verify(claims, profile="quick", seed=0, executor=counting)
    local = verify(claims, profile="quick", seed=0)
    assert counting.one_task == ["parameters.exponents"]
    assert counting.mapped == 1
    by_id = {c.id: c for c in remote.claims}
    shared = by_id["exact_pgd.lambda_min"]
    assert shared.instances > 8          # more than one chunk
    for loc in local.claims:
        assert _comparable(by_id[loc.id]) == _comparable(loc)
    assert all(c.status == "holds" for c in local.claims)
    # able to fail: another seed's shared claim is told apart by the same comparison
    other = verify(claims[:1], profile="quick", seed=1, executor=counting)
    assert _comparable(other.claims[0]) != _comparable(shared)


@needs_dask
def test_workers_option_starts_a_local_cluster_whose_tasks_may_fork():
    """--workers N: a LocalCluster of N single-threaded, non-daemonic worker processes (the fault
    campaign forks a child per fault inside its task), closed on exit."""
    def doubled_in_a_forked_child(x):
        import multiprocessing as mp
        ctx = mp.get_context("fork")
        q = ctx.Queue()
        child = ctx.Process(target=q.put, args=(2 * x,))
        child.start()
        value = q.get(timeout=60)
        child.join(10)
        return value

    before = ex.malloc_environment()
    with scaleout.executor_from_args(argparse.Namespace(scheduler=None, workers=1), 4) as e:
        assert isinstance(e, ex.DaskExecutor) and e.threads() == 1
        assert list(e.map(doubled_in_a_forked_child, [1, 2, 3])) == [2, 4, 6]
        # byzpgd's malloc thresholds, not Dask's MALLOC_TRIM_THRESHOLD_ alone (2x slower runs)
        from byzpgd._malloc import ENVIRONMENT, user_chose
        env = e.client.run(ex.malloc_environment)
        assert list(env.values()) == [{k: os.environ.get(k) for k in ENVIRONMENT} if user_chose()
                                      else ENVIRONMENT], env
        assert "MALLOC_TRIM_THRESHOLD_" not in scaleout.describe(e)
        client = e.client
    assert client.status == "closed"
    assert ex.malloc_environment() == before     # the nannies' variables do not stay in this process


def _calibration_specs():
    from byzpgd.commands.calibrate import _specs
    return _specs(1, 0)[4:4 + CALIBRATION_RUNS]    # Δ = 1e-4 and 1e-3, four adversaries each


class _Recording:
    """Runs serially and keeps the per-instance results (to replay them without re-running)."""

    def __init__(self):
        self.results = []

    def map(self, fn, items):
        for r in map(fn, items):
            self.results.append(r)
            yield r


class _Replay:
    def __init__(self, results):
        self.results = results

    def map(self, fn, items):
        assert len(list(items)) == len(self.results)
        return iter(self.results)


@pytest.fixture(scope="module")
def calibration_local():
    """``byzpgd calibrate``'s evaluation of its starting factors on a few runs, in this process,
    and the per-instance results."""
    from byzpgd.commands.calibrate import START, evaluate
    rec = _Recording()
    out = evaluate(dict(START), _calibration_specs(), rec)
    assert out["runs"] == CALIBRATION_RUNS and not out["errors"]
    return out, rec.results


def test_the_comparison_catches_results_merged_out_of_order(calibration_local):
    """The able-to-fail check of the equality below: the same per-instance results merged one
    place off (what an executor that merged by arrival could do) give another evaluation."""
    from byzpgd.commands.calibrate import START, evaluate
    local, results = calibration_local
    assert evaluate(dict(START), _calibration_specs(), _Replay(results)) == local
    assert evaluate(dict(START), _calibration_specs(), _Replay(results[1:] + results[:1])) != local


@needs_dask
def test_calibration_through_the_cluster_equals_the_local_run(executor, calibration_local):
    """Instances in chunks (uneven: 3 per task) as Dask tasks; trapped count, worst C, oracle
    calls, per-Δ rows and examples equal the local evaluation's."""
    from byzpgd.commands.calibrate import START, evaluate
    remote = evaluate(dict(START), _calibration_specs(), ex.DaskExecutor(executor.client, chunksize=3))
    assert remote == calibration_local[0]


@needs_dask
def test_map_is_in_spec_order_whatever_the_completion_order(executor):
    """Later items finish first (they sleep less); map still yields them in order."""
    items = [0.3, 0.2, 0.1, 0.0]
    sleep_then_echo = lambda x: (time.sleep(x), x)[1]   # noqa: E731  (a lambda travels by value)
    assert list(ex.DaskExecutor(executor.client, chunksize=1).map(sleep_then_echo, items)) == items
    done = list(executor.as_completed(sleep_then_echo, items))
    assert sorted(done) == list(enumerate(items))


def _w1_killer(client, cluster):
    """(kill, seen): ``kill()`` SIGKILLs worker w1 (its nanny and its process) and records in
    ``seen['processing']`` how many tasks w1 was running at that moment; ``seen['victim']`` is
    w1's address."""
    victim = next(addr for addr, w in client.scheduler_info()["workers"].items() if w["name"] == "w1")
    seen = {"victim": victim}

    def kill():
        seen["processing"] = len(client.processing().get(victim, ()))
        cluster.kill_worker("w1")
    return kill, seen


class _KillAfterFirst:
    """An executor that runs ``kill()`` once the first result is in (both workers busy then),
    through ``map`` or ``as_completed``."""

    def __init__(self, inner, kill):
        self.inner, self.kill = inner, kill

    def threads(self):
        return self.inner.threads()

    def _after_first(self, results):
        for k, result in enumerate(results):
            if k == 0:
                self.kill()
            yield result

    def map(self, fn, items):
        return self._after_first(self.inner.map(fn, items))

    def as_completed(self, fn, items):
        return self._after_first(self.inner.as_completed(fn, items))


@needs_dask
def test_a_worker_killed_mid_run_is_survived(cluster, executor, calibration_local):
    """One task per instance; after the first result, worker w1 (its nanny and its process) is
    SIGKILLed while it runs a task: Dask re-runs its tasks (and the results it held) on w0 and the
    evaluation equals the local one."""
    from byzpgd.commands.calibrate import START, evaluate

    client = executor.client
    kill, seen = _w1_killer(client, cluster)
    try:
        remote = evaluate(dict(START), _calibration_specs(),
                          _KillAfterFirst(ex.DaskExecutor(client, chunksize=1), kill))
        assert seen["processing"] >= 1, "the killed worker was running no task"
        assert seen["victim"] not in client.scheduler_info()["workers"]
        assert remote == calibration_local[0]
    finally:    # give the other tests their second worker back
        if "w1" not in cluster.workers:
            cluster.start_worker("w1")
            client.wait_for_workers(2, timeout=START_SECONDS)


@needs_dask
def test_a_task_lost_for_good_is_a_cluster_error():
    """Beyond the scheduler's allowed failures (0 here), a task whose worker died is reported as a
    ClusterError naming the task, exit code 1 (the run did not finish), never a hang or a raw
    Dask exception."""
    import dask

    def kills_its_worker(x):
        os._exit(3)

    with dask.config.set({"distributed.scheduler.allowed-failures": 0}):
        with ex.dask_client(ex.ClusterSpec(workers=1), check_code=False) as client:
            with pytest.raises(ex.ClusterError, match="lost task byzpgd-map-") as err:
                list(ex.DaskExecutor(client, chunksize=1).map(kills_its_worker, [1]))
    assert err.value.exit_code == 1
