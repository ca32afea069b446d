"""scikit-learn's estimator checks over every estimator."""

from sklearn.utils.estimator_checks import parametrize_with_checks

from sklfi import MODELS, BayesianFMClassifier, BayesianFMRegressor

ESTIMATORS = [cls() for m in MODELS.values() for cls in (m.classifier, m.regressor)]
# (fewer sweeps: the checks fit dozens of times)
ESTIMATORS += [BayesianFMClassifier(n_iter=30, n_burn_in=5),
               BayesianFMRegressor(n_iter=30, n_burn_in=5)]  # fmt: skip

# Minibatch SGD cannot make an integer sample weight equal to repeating the
# row: repetition changes the batches, the number of steps per epoch and the
# shuffling, so the two fits follow different optimisation paths.
_SGD_WEIGHTS = (
    "minibatch SGD: weighting a row by 2 and repeating it give different "
    "batches and steps, so different models"
)
EXPECTED_FAILURES = {
    "check_sample_weight_equivalence_on_dense_data": _SGD_WEIGHTS,
    "check_sample_weight_equivalence_on_sparse_data": _SGD_WEIGHTS,
}


def _expected_failed_checks(estimator):
    return EXPECTED_FAILURES


@parametrize_with_checks(ESTIMATORS, expected_failed_checks=_expected_failed_checks)
def test_sklearn_compatible(estimator, check):
    check(estimator)
