"""scikit-learn estimators over hqnn's quantum layers (``Pipeline``, ``GridSearchCV`` over ``backend=``, ``shots=``)."""

from hqnn_core.sklearn.qnn import QNNClassifier, QNNRegressor

__all__ = ["QNNClassifier", "QNNRegressor"]
