import os

import pandas as pd
import pytest
import torch
from hypothesis import settings

# Tests run on 2 CPU cores in CI; more threads only add contention.
torch.set_num_threads(min(2, torch.get_num_threads()))

# A script that torchrun runs (test_distributed.py), not a test module.
collect_ignore = ["ddp_worker.py"]

# The fuzz tests draw the same examples in every run (a CI failure can be
# replayed); HYPOTHESIS_PROFILE=explore searches new ones.
settings.register_profile("default", max_examples=25, derandomize=True, print_blob=True)
settings.register_profile("explore", max_examples=500, print_blob=True)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))


@pytest.fixture(scope="session")
def movielens():
    """MovieLens-100K from SKLFI_DATA (CI: ../shared/data); never downloaded.

    Without SKLFI_DATA (and no copy in ~/sklfi_data) the tests that need it
    are skipped; with SKLFI_DATA set, as in CI, missing files are an error.
    """
    from sklfi.datasets import get_data_home, load_movielens_100k

    home = os.environ.get("SKLFI_DATA")
    if not (get_data_home(home) / "ml-100k" / "u.data").is_file():
        message = (
            "MovieLens-100K not found: set SKLFI_DATA to the folder holding "
            "ml-100k/ (../shared/data in CI)."
        )
        if home:
            pytest.fail(message)
        pytest.skip(message)
    return load_movielens_100k(home, download_if_missing=False)


@pytest.fixture
def events():
    """A few watch events (and ratings) of three users."""
    return pd.DataFrame(
        {
            "user_id": [1, 1, 1, 2, 2, 3],
            "item_id": [10, 11, 12, 10, 13, 11],
            "timestamp": [5, 1, 3, 2, 4, 1],
            "rating": [4, 3, 5, 2, 1, 5],
        }
    )
