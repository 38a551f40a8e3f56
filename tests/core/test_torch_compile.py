"""A model with a QuantumLayer on the torch backend compiles whole: no graph breaks, and the same numbers as eager."""

from __future__ import annotations

import warnings

import pytest
import torch

from hqnn_core import QuantumLayer
from hqnn_core.errors import InputError


def _model(method: str) -> torch.nn.Module:
    torch.manual_seed(0)
    layer = QuantumLayer(4, layers=2, seed=0, backend_options={"diff_method": method})
    return torch.nn.Sequential(torch.nn.Linear(4, 4), torch.nn.Tanh(), layer, torch.nn.Linear(4, 2)).double()


def _step(model: torch.nn.Module, x: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
    model.zero_grad()
    out = model(x)
    (out ** 2).sum().backward()
    return out.detach(), [p.grad.clone() for p in model.parameters()]


@pytest.mark.parametrize("method", ["backprop", "adjoint"])
def test_explain_finds_no_graph_break(method):
    x = torch.rand(8, 4, dtype=torch.float64)
    assert torch._dynamo.explain(_model(method))(x).graph_break_count == 0


@pytest.mark.parametrize(("method", "compiler"), [pytest.param("backprop", "inductor", marks=pytest.mark.slow), ("adjoint", "aot_eager")])
def test_compiled_forward_and_backward_equal_eager(method, compiler):
    torch._dynamo.reset()
    model = _model(method)
    x = torch.rand(8, 4, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    ref_out, ref_grads = _step(model, x)
    compiled = torch.compile(model, fullgraph=True, backend=compiler)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no "complex operators" or graph-break warnings
        warnings.filterwarnings("ignore", message=".*torch.jit.script_method.* is deprecated", category=DeprecationWarning)  # inductor's own
        out, grads = _step(compiled, x)
        calls = model[2].backend.accounting.calls
        with torch._dynamo.config.patch(error_on_recompile=True):  # later steps run the cached graph
            for _ in range(2):
                out, grads = _step(compiled, x)
    assert model[2].backend.accounting.calls == calls + 2  # counted at run time, one call per step
    torch.testing.assert_close(out, ref_out, atol=1e-10, rtol=0)
    for g, ref in zip(grads, ref_grads, strict=True):
        torch.testing.assert_close(g, ref, atol=1e-10, rtol=0)
    assert ref_grads[0].abs().sum() > 0  # the gradient reaches the classical layer before the quantum one


def test_compiled_model_takes_new_batch_sizes_and_still_refuses_non_finite_inputs():
    torch._dynamo.reset()
    model = _model("backprop")
    compiled = torch.compile(model, fullgraph=True, backend="aot_eager")
    for batch in (3, 5, 2):  # the second size recompiles with a symbolic batch, the third reuses it
        x = torch.rand(batch, 4, dtype=torch.float64)
        torch.testing.assert_close(compiled(x), model(x), atol=1e-12, rtol=0)
    x[1, 2] = float("nan")
    with pytest.raises(InputError, match="NaN or inf"):
        compiled(x)


def test_an_eager_step_does_not_load_dynamo():
    """The compiled-op module is imported on the compiled path only: torch._dynamo costs 1.2 s to import."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    repo = Path(__file__).resolve().parents[2]
    code = ("import sys, torch\nfrom hqnn_core import QuantumLayer\n"
            "layer = QuantumLayer(3, layers=2, seed=0)\nlayer(torch.rand(4, 3)).sum().backward()\n"
            "print(sorted(m for m in ('torch._dynamo', 'hqnn_plugins.torch_backend_compiled') if m in sys.modules))")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(str(repo / p) for p in ("", "plugins", "adapters"))}
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120, check=False)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "[]"
