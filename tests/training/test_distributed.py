"""Data-parallel training (torch.distributed, gloo): two local processes give the single-process result.

Oracle: the same profile trained in one process with the same global batch and seed. The only
difference is the order of float32 sums (DDP averages per-rank gradient sums), so with SGD the
weights agree to 1e-5 (observed ~1e-7); a wrong shard, a missing all-reduce or a per-rank shuffle
shows up as differences of order 1e-2. (Adam is avoided here: it divides by sqrt(v), which turns
rounding noise in gradients that are mathematically zero into steps of order lr.)
"""

from __future__ import annotations

import json
import shutil
import signal

import pytest
import torch
from training_helpers import load_state, write_profile

from hqnn_core.config import load_profile
from hqnn_core.errors import ConfigError
from hqnn_core.kill_points import KILL_VAR
from hqnn_core.training import train
from hqnn_core.training.distributed import DistContext
from hqnn_core.training.launch import launch
from hqnn_core.training.spec import resolve

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")  # the elastic launcher's own deprecations

ATOL = 1e-5
# 24 rows, batch 7: global batches 7, 7, 7, 3 split 4/3 and 2/1 across two ranks (uneven shards on purpose)
SECTIONS = {"data": {"pca": 2, "max_train": 24, "max_test": 8}, "model": {"quantum": {"n_qubits": 2, "layers": 1}},
            "train": {"optimizer": "sgd", "lr": 0.2, "epochs": 2, "batch_size": 7, "checkpoint_every": 1}}


def _assert_close_states(a: dict, b: dict) -> None:
    assert list(a) == list(b)
    for key in a:
        torch.testing.assert_close(a[key], b[key], atol=ATOL, rtol=0, msg=key)


def test_shards_split_the_global_batch_and_weight_the_loss():
    idx = torch.arange(7)
    parts = [DistContext(r, 2, r, "gloo").shard(idx) for r in range(2)]
    assert [p.tolist() for p, _ in parts] == [[0, 1, 2, 3], [4, 5, 6]]
    assert [w for _, w in parts] == [2 / 7, 2 / 7]  # sum(loss) * world / global, averaged over ranks = global mean
    empty, weight = DistContext(1, 2, 1, "gloo").shard(torch.arange(1))
    assert empty.tolist() == [0] and weight == 0.0  # joins the all-reduce, contributes nothing


def test_gradient_free_optimisers_are_refused_with_the_fix(tmp_path):
    loaded = load_profile(write_profile(tmp_path, train={"optimizer": "spsa"}))
    with pytest.raises(ConfigError, match="train.optimizer 'spsa' is gradient-free.*adam"):
        resolve(loaded, rank=0, world_size=2)
    assert resolve(loaded).optimizer.name == "spsa"  # one process: fine


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """The profile trained in one process and on two gloo ranks (one launch for the whole module: spawning is slow)."""
    folder = tmp_path_factory.mktemp("distributed")
    profile = write_profile(folder, **SECTIONS)
    single = train(profile, out=folder / "single", quiet=True)
    before = signal.getsignal(signal.SIGINT)
    two = launch(2, profile=str(profile), out=str(folder / "two"), quiet=True)
    assert signal.getsignal(signal.SIGINT) is before  # the launcher's own Ctrl-C handler does not outlive it
    return folder, profile, single, two


def test_two_gloo_ranks_match_one_process(runs):
    folder, _, single, two = runs
    run_dir = folder / "two"
    assert two["run_dir"] == str(run_dir)
    _assert_close_states(load_state(run_dir / "model.pt"), load_state(single.run_dir / "model.pt"))
    record = json.loads((run_dir / "run.json").read_text())
    for a, b in zip(record["hybrid"]["epochs"], single.record["hybrid"]["epochs"], strict=True):
        assert a["train_loss"] == pytest.approx(b["train_loss"], abs=1e-6) and a["test_accuracy"] == b["test_accuracy"]


def test_run_record_merges_ranks(runs):
    folder, _, single, _ = runs
    record = json.loads((folder / "two" / "run.json").read_text())
    d = record["distributed"]
    assert d["world_size"] == 2 and d["backend"] == "gloo" and [e["rank"] for e in d["ranks"]] == [0, 1]
    jobs = [e["accounting"]["jobs"] for e in d["ranks"]]
    circuits = [e["accounting"]["circuits"] for e in d["ranks"]]
    assert d["total"]["jobs"] == sum(jobs) == record["hybrid"]["accounting"]["jobs"]
    # every rank ran every step (one job per forward) on its shard; test-set evaluation runs on each rank
    assert jobs[0] == jobs[1] == single.record["hybrid"]["accounting"]["jobs"]
    assert d["total"]["circuits"] == sum(circuits) and circuits[0] > circuits[1] > 0  # shards 4/3 and 2/1
    assert d["ranks"][0]["shot_seed"] != d["ranks"][1]["shot_seed"]  # each rank its own derived shot seed
    assert len(list((folder / "two" / "checkpoints" / "hybrid").glob("epoch-*.pt"))) == 2  # written once, by rank 0


def _as_killed_after_epoch_1(src, dst):
    """What SIGKILL right after epoch 1 leaves (kill point ``epoch:1``): epoch 1's checkpoint and record, nothing later."""
    shutil.copytree(src, dst)
    (dst / "model.pt").unlink()
    ckpt = dst / "checkpoints" / "hybrid"
    manifest = json.loads((ckpt / "manifest.json").read_text())
    manifest["checkpoints"] = [e for e in manifest["checkpoints"] if e["epoch"] == 1]
    (ckpt / "manifest.json").write_text(json.dumps(manifest))
    (ckpt / "epoch-0002.pt").unlink()
    record = json.loads((dst / "run.json").read_text())
    record.update(status="running", finished=None, distributed=None)
    record["hybrid"] = {"status": "running", "epochs": record["hybrid"]["epochs"][:1]}
    (dst / "run.json").write_text(json.dumps(record))


def test_a_two_rank_checkpoint_resumes_on_one_rank(runs):
    folder, _, single, _ = runs
    killed = folder / "killed"
    _as_killed_after_epoch_1(folder / "two", killed)
    state = load_state(killed / "checkpoints" / "hybrid" / "epoch-0001.pt")
    assert len(state["accounting_ranks"]) == 2
    resumed = train(resume=killed, quiet=True)
    assert resumed.record["resumed"][0]["from_epoch"] == 1 and resumed.record["status"] == "completed"
    _assert_close_states(load_state(killed / "model.pt"), load_state(single.run_dir / "model.pt"))
    # on another rank count, rank 0 carries both ranks' accounting, so the run's totals stay whole
    epoch1 = sum(a["jobs"] for a in state["accounting_ranks"])
    assert resumed.record["hybrid"]["accounting"]["jobs"] == epoch1 + single.record["hybrid"]["accounting"]["jobs"] // 2


@pytest.mark.slow
def test_sigkill_on_two_ranks_then_resume_on_one(runs, monkeypatch):
    folder, profile, single, _ = runs
    monkeypatch.setenv(KILL_VAR, "epoch:1")
    with pytest.raises(Exception):  # noqa: B017 - the launcher reports the killed workers (ChildFailedError)
        launch(2, profile=str(profile), out=str(folder / "sigkill"), quiet=True)
    monkeypatch.delenv(KILL_VAR)
    killed = folder / "sigkill"
    assert (killed / "checkpoints" / "hybrid" / "epoch-0001.pt").exists() and not (killed / "model.pt").exists()
    train(resume=killed, quiet=True)
    _assert_close_states(load_state(killed / "model.pt"), load_state(single.run_dir / "model.pt"))
