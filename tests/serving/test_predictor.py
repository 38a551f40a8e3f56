"""Serving with a classical fallback: outages, open breakers, a spent budget and rising noise (docs/serving.md)."""

from __future__ import annotations

import contextlib
import csv
import json
from collections import deque

import numpy as np
import pytest
import torch
from click.testing import CliRunner

from hqnn_core.errors import ConfigError, FallbackWarning, UnavailableBackendError
from hqnn_core.serving import Predictor

DOWN = "faulty:torch?rate=1&kinds=unavailable&max_consecutive=1000"


@pytest.fixture(scope="module")
def oracle(served_run, digits01):
    """Predictions of the healthy hybrid model (torch) and of the baseline, as raw labels, for every row."""
    healthy = Predictor.from_run(served_run)
    x = torch.from_numpy(healthy.preprocessing.transform(digits01[0]))
    with torch.no_grad():
        quantum = healthy.model(x).argmax(1).numpy()
        classical = healthy.classical.model(x).argmax(1).numpy()
    return np.array([0, 1])[quantum], np.array([0, 1])[classical]


def _by_batch(served, batch_size):
    return [served.served_by[i] for i in range(0, len(served.served_by), batch_size)]


def test_outage_serves_every_row_classically_and_switches_back_when_the_backend_answers(served_run, digits01, oracle):
    # the faulty backend fails three calls in a row, then answers one: probing every batch, serving follows it
    p = Predictor.from_run(served_run, ["backend.name=faulty:torch?rate=1&kinds=unavailable&max_consecutive=3", "serving.batch_size=20"])
    x, y = digits01[0][:200], digits01[1][:200]
    with pytest.warns(FallbackWarning) as caught:
        served = p.predict(x, y)
    assert _by_batch(served, 20) == ["classical"] * 3 + ["quantum"] + ["classical"] * 3 + ["quantum"] + ["classical"] * 2
    assert [(s.batch, s.to, s.reason) for s in served.switches] == [
        (0, "classical", "unavailable"), (3, "quantum", "recovered"), (4, "classical", "unavailable"),
        (7, "quantum", "recovered"), (8, "classical", "unavailable"),
    ]
    assert len([w for w in caught if "serving switched" in str(w.message)]) == 5
    quantum_rows = np.array(served.served_by) == "quantum"
    assert np.array_equal(served.predictions[quantum_rows], oracle[0][:200][quantum_rows])
    assert np.array_equal(served.predictions[~quantum_rows], oracle[1][:200][~quantum_rows])
    report = p.report()
    assert report["rows"] == {"quantum": 40, "classical": 160} and report["rows_by_reason"] == {"unavailable": 160}
    assert report["switch_count"] == 5 and p.model.quantum.backend.calls == 10  # one probe per batch, no more


def test_open_breakers_skip_the_chain_until_it_recovers(served_run, digits01, oracle):
    p = Predictor.from_run(served_run, [
        f"backend.name={DOWN}", f"backend.fallback=['{DOWN}&seed=1']", "backend.retry.attempts=1", "backend.breaker_reset_s=600",
        "serving.batch_size=30",
    ])
    chain = p.model.quantum.backend
    now = [0.0]
    for link in chain.links:
        link.breaker.clock = lambda: now[0]
    x = digits01[0][:120]
    with pytest.warns(FallbackWarning):
        served = p.predict(x)
    assert served.reasons == ["unavailable"] * 30 + ["breaker_open"] * 90
    assert [link.backend.calls for link in chain.links] == [1, 1]  # open breakers: nothing more was sent
    assert np.array_equal(served.predictions, oracle[1][:120])
    # the primary comes back; once its breaker half-opens the next batch probes it and serving returns to it
    primary = chain.links[0].backend
    primary.options = primary.options.model_copy(update={"rate": 0.0})
    now[0] = 601.0
    with pytest.warns(FallbackWarning, match="recovered"):
        again = p.predict(x[:60])
    assert again.served_by == ["quantum"] * 60 and [s.reason for s in again.switches] == ["recovered"]
    assert np.array_equal(again.predictions, oracle[0][:60])
    assert p.report()["rows_by_reason"] == {"unavailable": 30, "breaker_open": 90}


def test_a_budget_spent_mid_stream_serves_the_rest_classically_and_is_not_probed_again(served_run, digits01, oracle):
    p = Predictor.from_run(served_run, ["serving.max_jobs=3", "serving.batch_size=25"])
    x = digits01[0][:150]
    with pytest.warns(FallbackWarning, match="budget: limits.max_jobs=3"):
        served = p.predict(x)
    p.close()
    assert _by_batch(served, 25) == ["quantum"] * 3 + ["classical"] * 3
    assert [(s.batch, s.reason) for s in served.switches] == [(3, "budget")]
    assert p.report()["budget_spent"]["jobs"] == 3 and p.model.quantum.backend.accounting.jobs == 3
    assert np.array_equal(served.predictions[:75], oracle[0][:75]) and np.array_equal(served.predictions[75:], oracle[1][75:150])


def test_rising_readout_noise_fires_the_degradation_trigger_at_the_set_margin(served_run, digits01):
    margin, window, batch = 0.1, 40, 20
    p = Predictor.from_run(served_run, ["backend.name=torch.noisy", f"serving.degradation_margin={margin}", f"serving.window={window}",
                                        f"serving.batch_size={batch}"])
    backend = p.model.quantum.backend
    x_all, y_all = digits01
    order = np.random.default_rng(0).permutation(len(y_all))
    x_all, y_all = x_all[order], y_all[order]
    noise = [0.0] * 3 + [0.05 * k for k in range(1, 10)] + [0.0] * 4  # rises to 0.45, then the device is recalibrated
    q_window, c_window, expected_switches = deque(maxlen=window), deque(maxlen=window), []
    degraded = False
    for i, q in enumerate(noise):
        backend.options = backend.options.model_copy(update={"readout_error": q})
        xb, yb = x_all[i * batch:(i + 1) * batch], y_all[i * batch:(i + 1) * batch]
        # the oracle: both models on this batch, windows and the margin rule computed here independently
        inputs = torch.from_numpy(p.preprocessing.transform(xb))
        with torch.no_grad():
            q_window.extend((p.model(inputs).argmax(1).numpy() == yb).tolist())
            c_window.extend((p.classical.model(inputs).argmax(1).numpy() == yb).tolist())
        full = len(q_window) == window
        now = full and np.mean(q_window) < np.mean(c_window) - margin
        if now != degraded:
            expected_switches.append((i, "degraded" if now else "recovered", float(np.mean(q_window)), float(np.mean(c_window))))
            degraded = now
        with pytest.warns(FallbackWarning) if now != (p.mode == "classical") else contextlib.nullcontext():  # filterwarnings=error: an unexpected switch fails
            served = p.predict(xb, yb)
        assert served.served_by == ["classical" if degraded else "quantum"] * len(yb)
    got = [(s.batch, s.reason, s.quantum_accuracy, s.classical_accuracy) for s in p.switches]
    assert [g[:2] for g in got] == [e[:2] for e in expected_switches] and len(got) == 2
    for (_, _, qa, ca), (_, _, eq, ec) in zip(got, expected_switches):
        assert qa == pytest.approx(eq) and ca == pytest.approx(ec)
    first = got[0]
    assert first[2] < first[3] - margin  # fired below the margin...
    before = p.batches[first[0] - 1]
    assert before["quantum_accuracy"] >= before["classical_accuracy"] - margin  # ...and not one batch earlier
    assert noise[first[0]] > 0


def test_without_a_margin_noise_never_switches(served_run, digits01):
    p = Predictor.from_run(served_run, ["backend.name=torch.noisy", "serving.degradation_margin=null", "serving.window=20"])
    p.model.quantum.backend.options = p.model.quantum.backend.options.model_copy(update={"readout_error": 0.45})
    served = p.predict(*digits01)
    assert set(served.served_by) == {"quantum"} and p.switches == []


def test_fallback_none_raises_the_backend_error(served_run, digits01):
    p = Predictor.from_run(served_run, [f"backend.name={DOWN}", "serving.fallback=none"])
    with pytest.raises(UnavailableBackendError, match="device offline"):
        p.predict(digits01[0][:10])


def test_fallback_baseline_needs_a_trained_baseline(tmp_path, served_run):
    import shutil

    copy = tmp_path / "run"
    shutil.copytree(served_run, copy)
    record = json.loads((copy / "run.json").read_text())
    record["baseline"] = None
    (copy / "run.json").write_text(json.dumps(record))
    with pytest.raises(ConfigError, match="serving.fallback: the run has no trained baseline"):
        Predictor.from_run(copy)


def test_predict_cli_writes_the_prediction_record(served_run, digits01, oracle, tmp_path):
    from hqnn_core.cli import cli

    rows = tmp_path / "rows.csv"
    np.savetxt(rows, np.column_stack([digits01[0][:50], digits01[1][:50]]), delimiter=",")
    out = tmp_path / "preds[qiskit].csv"  # brackets: rich markup would swallow "[qiskit]"
    with pytest.warns(FallbackWarning):
        result = CliRunner().invoke(cli, [
            "predict", str(served_run), "--data", str(rows), "--out", str(out), "--set", f"backend.name={DOWN}",
            "--set", f"backend.fallback=['{DOWN}&seed=1']", "--set", "backend.retry.attempts=1", "--set", "serving.batch_size=20",
        ], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    table = list(csv.DictReader(out.read_text().splitlines()))
    assert [r["served_by"] for r in table] == ["classical"] * 50
    assert [r["reason"] for r in table] == ["unavailable"] * 20 + ["breaker_open"] * 30
    assert [int(r["prediction"]) for r in table] == oracle[1][:50].tolist()
    summary = json.loads(out.with_suffix(".json").read_text())
    assert summary["switch_count"] == 1 and summary["switches"][0]["reason"] == "unavailable"
    assert summary["rows"] == {"quantum": 0, "classical": 50} and summary["accuracy"] == pytest.approx(np.mean(oracle[1][:50] == digits01[1][:50]))
    assert "50 rows: 0 quantum, 50 classical" in result.output
    assert f"predictions: {out}; record: {out.with_suffix('.json')}" in result.output

