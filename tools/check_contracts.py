"""The lint env's proof of two rules of the architecture (docs/architecture.md, "Contracts"):

1. **No duck-typed backend contract.** The ``Backend`` ABC declares every optional method with a
   default and ``BackendError`` carries typed fields, so no code probes for them:
   ``getattr(x, "map_error", None)``, ``hasattr(x, "inner")`` and ``setattr(error, "kind", ...)``
   on a contract name are reported wherever they appear in the library.
2. **The run is built, not patched.** In the training package an object is complete when its
   constructor returns: assigning to another object's attribute (``layer.backend = ...``,
   ``trainer.dist = ...``, ``leaf.run_batch = ...``, ``setattr(x, ...)``) is reported. An object
   may set its own attributes (``self.x = ...``); torch's documented per-parameter switches
   (``requires_grad``, ``grad``) and numpy's ``bit_generator.state`` are set through attributes by design,
   and so is a module's own class (``sys.modules[__name__].__class__``, Python's way to customise it).

3. **Imports point down, at the top of the module.** An import of hqnn's own packages inside a
   function hides an upward import or a cycle from import-linter's reader; it is reported unless
   it defers torch (or torch._dynamo) for start-up: in the CLI modules, and in the functions of ``DEFERRED`` (each
   listed with its reason in docs/architecture.md, "Imports inside functions"). Imports of other
   packages inside functions (an optional SDK, matplotlib, scikit-learn) are left alone.

The check reads the syntax tree (``ast``), so strings and comments that mention these names do
not count. ``python tools/check_contracts.py [PATH ...]`` prints one line per finding and exits 1
if there is any; with no paths it checks the library.
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterator
from pathlib import Path

#: Methods, properties and error fields that the Backend ABC / BackendError declare: never probed for.
CONTRACT_NAMES = frozenset({
    "map_error", "error_examples", "attach_journal", "price_class", "inner", "faults_injected", "queue_info",
    "capabilities", "capabilities_for", "states", "simulate", "device_class", "price", "members", "configure_gradient",
    "jobs_for", "calibration", "noise_options", "seed_for_call",
    "kind", "category", "vendor_error", "code", "task_id",
})
#: torch's documented mutable attributes of a tensor or parameter (freezing layers, clearing gradients).
TORCH_SWITCHES = frozenset({"requires_grad", "grad"})
LIBRARY = ("hqnn_core", "plugins/hqnn_plugins", "adapters")
FIRST_PARTY = frozenset({"hqnn_core", "hqnn_plugins", "hqnn_qiskit", "hqnn_pennylane", "hqnn_braket"})
#: (path, function) whose first-party imports defer torch so that start-up stays light (docs/architecture.md).
DEFERRED = frozenset({
    ("plugins/hqnn_plugins/mitigators.py", "conformance_noisy_reference"),  # registering mitigators must not import torch
    ("plugins/hqnn_plugins/torch_backend.py", "run_batch"),  # the compiled-op module imports torch._dynamo (1.2 s)
})
TRAINING = "hqnn_core/training"
PROBES = {"getattr", "hasattr", "setattr", "delattr"}


def _probe(node: ast.Call) -> str | None:
    """The contract name probed by ``getattr/hasattr/setattr/delattr(obj, "<name>", ...)``, if any."""
    if not (isinstance(node.func, ast.Name) and node.func.id in PROBES and len(node.args) >= 2):
        return None
    name = node.args[1]
    if isinstance(name, ast.Constant) and name.value in CONTRACT_NAMES:
        return f"{node.func.id}(..., {name.value!r})"
    return None


def _foreign_targets(node: ast.AST) -> Iterator[ast.Attribute]:
    """Attribute targets of an assignment that belong to some object other than ``self``/``cls``."""
    targets: list[ast.expr] = []
    if isinstance(node, ast.Assign):
        targets = list(node.targets)
    elif isinstance(node, (ast.AugAssign, ast.AnnAssign)):
        targets = [node.target]
    stack = list(targets)
    while stack:
        target = stack.pop()
        if isinstance(target, (ast.Tuple, ast.List)):
            stack.extend(target.elts)
        elif isinstance(target, ast.Starred):
            stack.append(target.value)
        elif isinstance(target, ast.Attribute):
            owner = target.value
            if isinstance(owner, ast.Name) and owner.id in {"self", "cls"}:
                continue
            if target.attr in TORCH_SWITCHES:
                continue
            if target.attr == "state" and isinstance(owner, ast.Attribute) and owner.attr == "bit_generator":
                continue  # numpy's documented way to restore a generator
            if target.attr == "__class__" and _is_own_module(owner):
                continue  # sys.modules[__name__].__class__ = ...: a module customising its own attributes (Python docs)
            yield target


def _is_own_module(node: ast.expr) -> bool:
    """Whether ``node`` is ``sys.modules[__name__]`` (under any alias of ``sys``): the module itself."""
    return (isinstance(node, ast.Subscript) and isinstance(node.slice, ast.Name) and node.slice.id == "__name__"
            and isinstance(node.value, ast.Attribute) and node.value.attr == "modules")


def _first_party(node: ast.Import | ast.ImportFrom) -> str | None:
    """The hqnn module an import statement names, if it names one."""
    if isinstance(node, ast.ImportFrom):
        names = [f"{'.' * node.level}{node.module or ''}"]
        if node.level:
            return names[0]
    else:
        names = [alias.name for alias in node.names]
    return next((n for n in names if n.split(".")[0] in FIRST_PARTY), None)


def _inner_imports(tree: ast.AST, path: str) -> list[str]:
    cli = path.startswith("hqnn_core/cli") or path.startswith("hqnn_core/__main__")
    findings = []
    for func in ast.walk(tree):
        if not isinstance(func, (ast.FunctionDef, ast.AsyncFunctionDef)) or cli or (path, func.name) in DEFERRED:
            continue
        for node in ast.walk(func):
            if isinstance(node, (ast.Import, ast.ImportFrom)) and (module := _first_party(node)):
                findings.append(f"{path}:{node.lineno}: import of {module} inside {func.name}(); import it at the top of the module")
    return sorted(set(findings), key=lambda f: int(f.split(":")[1]))


def check_source(source: str, path: str, training: bool) -> list[str]:
    """Findings (``path:line: message``) in one module's source; ``training`` adds the assignment rule."""
    tree = ast.parse(source, filename=path)
    findings = _inner_imports(tree, path)
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            probe = _probe(node)
            if probe:
                findings.append(f"{path}:{node.lineno}: {probe} probes a contract member; call the declared method or read the typed field")
            elif training and isinstance(node.func, ast.Name) and node.func.id == "setattr":
                findings.append(f"{path}:{node.lineno}: setattr(...) patches an object after construction; pass the value to its constructor")
        if training:
            for target in _foreign_targets(node):
                text = ast.unparse(target)
                findings.append(f"{path}:{target.lineno}: {text} = ... patches an object after construction; pass it to the constructor instead")
    return findings


def check_paths(paths: list[Path], root: Path) -> list[str]:
    findings = []
    for base in paths:
        files = sorted(base.rglob("*.py")) if base.is_dir() else [base]
        for file in files:
            rel = next((file.resolve().relative_to(base) for base in (root, Path.cwd()) if file.resolve().is_relative_to(base)), file)
            training = f"/{TRAINING}/" in "/" + rel.as_posix()
            findings += check_source(file.read_text(encoding="utf-8"), str(rel), training)
    return findings


def main(argv: list[str]) -> int:
    root = Path(__file__).resolve().parents[1]
    paths = [Path(a) for a in argv] or [root / p for p in LIBRARY]
    findings = check_paths(paths, root)
    for line in findings:
        print(line)
    if findings:
        print(f"{len(findings)} contract violation(s); see docs/architecture.md, 'Contracts'", file=sys.stderr)
    return 1 if findings else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
