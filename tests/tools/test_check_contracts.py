"""tools/check_contracts.py, the lint env's proof of "no contract probing, no patching after construction":
fed bad and good snippets, it flags exactly the bad lines."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

TOOL = Path(__file__).resolve().parents[2] / "tools" / "check_contracts.py"
_spec = importlib.util.spec_from_file_location("check_contracts", TOOL)
assert _spec is not None and _spec.loader is not None
check_contracts = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(check_contracts)


def _lines(source: str, training: bool = True) -> list[int]:
    """The line numbers the checker flags in ``source``."""
    found = check_contracts.check_source(textwrap.dedent(source), "snippet.py", training)
    return [int(f.split(":")[1]) for f in found]


@pytest.mark.parametrize("probe", [
    'getattr(backend, "map_error", None)',
    'hasattr(backend, "inner")',
    'getattr(error, "vendor_error", error)',
    'setattr(error, "kind", "throttle")',
    'getattr(type(backend), "capabilities")',
    'hasattr(b, "faults_injected")',
    'delattr(b, "queue_info")',
    'hasattr(backend, "simulate")',
    'getattr(backend, "device_class", None)',
    'getattr(error, "task_id", None)',
])
def test_probing_a_contract_member_is_flagged_anywhere_in_the_library(probe):
    assert _lines(f"x = 1\ny = {probe}\n", training=False) == [2]


def test_every_optional_member_of_the_backend_contract_is_guarded():
    """A member added to the ABC or to BackendError's typed fields is a contract name, so probing it is flagged."""
    import inspect

    from hqnn_core.errors import BackendError
    from hqnn_core.interfaces.backend import Backend

    always_there = {"describe", "expectations", "full_name", "run_batch", "validate", "vendor", "kind"}
    optional = {n for n in vars(Backend) if not n.startswith("_")} - always_there
    fields = {p.name for p in inspect.signature(BackendError.__init__).parameters.values() if p.kind is p.KEYWORD_ONLY}
    assert optional | fields <= check_contracts.CONTRACT_NAMES, sorted((optional | fields) - check_contracts.CONTRACT_NAMES)


@pytest.mark.parametrize("fine", [
    'getattr(module, "some_option", None)',    # not a contract name
    'backend.map_error(error)',                 # calling the declared method
    'error.kind == "throttle"',                 # reading the typed field
    'print("getattr(backend, \'inner\')")',     # a string that mentions it
    'getattr(backend, name)',                   # a computed name is not a literal probe
])
def test_declared_use_and_unrelated_getattr_pass(fine):
    assert _lines(f"{fine}\n", training=False) == []


def test_patching_another_object_in_training_code_is_flagged_with_its_line():
    source = """
    def build(layer, trainer, leaf, chain, spec):
        layer.backend = chain              # 3
        trainer.dist, trainer.x = 1, 2     # 4: both targets
        leaf.run_batch = lambda *a: None   # 5
        layer.executor.shots += 10         # 6
        setattr(trainer, "resilience", 1)  # 7
        spec.options: dict = {}            # 8
    """
    assert sorted(_lines(source)) == [3, 4, 4, 5, 6, 7, 8]


def test_own_attributes_and_documented_setters_pass_in_training_code():
    source = """
    class Trainer:
        def __init__(self, layer):
            self.layer = layer
            self.steps = 0

        def freeze(self, params, rng, state):
            self.steps += 1
            for p in params:
                p.requires_grad = False
                p.grad = None
            rng.bit_generator.state = state
    """
    assert _lines(source) == []


def test_a_module_may_set_its_own_class_but_not_another_modules():
    source = """
    import sys as _sys
    _sys.modules[__name__].__class__ = Package     # 3: the module itself
    _sys.modules["hqnn_core.layer"].__class__ = X  # 4: another module
    other.__class__ = X                            # 5
    """
    assert _lines(source) == [4, 5]


def test_the_assignment_rule_applies_to_training_code_only():
    assert _lines("layer.backend = chain\n", training=False) == []
    assert _lines("layer.backend = chain\n", training=True) == [1]


def test_the_command_exits_1_and_names_file_and_line(tmp_path):
    training = tmp_path / "hqnn_core" / "training"
    training.mkdir(parents=True)
    (training / "bad.py").write_text("def f(layer, b):\n    layer.backend = b\n    return hasattr(b, 'inner')\n")
    (tmp_path / "good.py").write_text("def f(b):\n    return b.inner\n")
    bad = subprocess.run([sys.executable, str(TOOL), str(training / "bad.py")], capture_output=True, text=True, check=False)
    good = subprocess.run([sys.executable, str(TOOL), str(tmp_path / "good.py")], capture_output=True, text=True, check=False)
    assert good.returncode == 0 and good.stdout == ""
    assert bad.returncode == 1
    lines = bad.stdout.splitlines()  # a file under hqnn_core/training/ gets both rules
    assert len(lines) == 2 and lines[0].endswith("bad.py:2: layer.backend = ... patches an object after construction; pass it to the constructor instead")
    assert "bad.py:3: hasattr(..., 'inner') probes a contract member" in lines[1]


def test_an_hqnn_import_inside_a_function_is_flagged_but_an_sdk_import_is_not():
    source = """
    import os

    from hqnn_core.errors import ConfigError


    def run():
        from hqnn_core.training.run import train   # 8: hides an upward import
        import hqnn_plugins.torch_backend          # 9
        from braket.aws import AwsDevice           # an optional SDK, deferred: fine
        import matplotlib.pyplot                   # a heavy library, deferred: fine
        return train
    """
    found = check_contracts.check_source(textwrap.dedent(source), "hqnn_core/training/x.py", False)
    assert [int(f.split(":")[1]) for f in found] == [8, 9]
    assert "import of hqnn_core.training.run inside run()" in found[0]


def test_the_cli_and_the_listed_torch_deferrals_may_import_inside_functions():
    body = "def conformance_noisy_reference():\n    from hqnn_core.interfaces import Backend\n    return Backend\n"
    assert check_contracts.check_source(body, "plugins/hqnn_plugins/mitigators.py", False) == []
    assert len(check_contracts.check_source(body, "hqnn_core/plugin_manager.py", False)) == 1  # no longer deferred: layouts
    assert check_contracts.check_source(body, "hqnn_core/cli_draw.py", False) == []
    assert len(check_contracts.check_source(body, "hqnn_core/components.py", False)) == 1
