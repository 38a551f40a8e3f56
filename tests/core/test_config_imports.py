"""The config package stands alone: parsing, validating and documenting a profile imports only
``hqnn_core.errors`` of hqnn (besides the package root and its lazy-names helper), and no torch (import-linter checks the imports statically in the lint
env; this checks what actually loads)."""

from __future__ import annotations

import json
import subprocess
import sys

PROBE = """
import json, sys
from hqnn_core.config import load_profile, schema_markdown
loaded = load_profile(sys.argv[1], ["train.epochs=2"])
assert loaded.profile.train.epochs == 2 and schema_markdown().startswith("# Run profile reference")
print(json.dumps({"hqnn": sorted(m for m in sys.modules if m.startswith("hqnn")), "torch": "torch" in sys.modules}))
"""


def test_loading_a_profile_imports_only_config_and_errors(tmp_path):
    profile = tmp_path / "p.yaml"
    profile.write_text("data: {source: iris}\nmodel: {quantum: {n_qubits: 2}}\n")
    out = subprocess.run([sys.executable, "-c", PROBE, str(profile)], capture_output=True, text=True, check=True)
    loaded = json.loads(out.stdout)
    assert loaded["torch"] is False
    assert loaded["hqnn"] == ["hqnn_core", "hqnn_core._lazy", "hqnn_core.config", "hqnn_core.config.loading", "hqnn_core.config.markdown",
                              "hqnn_core.config.messages", "hqnn_core.config.schema", "hqnn_core.errors"]
