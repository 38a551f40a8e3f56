"""Running a trained run in practice: serving with a classical fallback, and input drift monitoring."""

from hqnn_core.serving.drift import DriftReport, detect_drift, monitor_run
from hqnn_core.serving.inputs import Rows, read_rows
from hqnn_core.serving.predictor import Predictor, Served, ServingSwitch

__all__ = ["DriftReport", "Predictor", "Rows", "Served", "ServingSwitch", "detect_drift", "monitor_run", "read_rows"]
