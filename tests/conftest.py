import os
from pathlib import Path

import pytest
import torch

# Tests run on 2 CPU cores in CI; more threads only add contention.
torch.set_num_threads(min(2, torch.get_num_threads()))


@pytest.fixture(scope="session")
def movielens():
    """MovieLens-100K from SKLFI_DATA (CI: ../shared/data); never downloaded."""
    from sklfi.datasets import load_movielens_100k

    home = os.environ.get("SKLFI_DATA")
    if not home or not (Path(home) / "ml-100k" / "u.data").is_file():
        pytest.fail(
            "MovieLens-100K not found: set SKLFI_DATA to the folder holding "
            "ml-100k/ (../shared/data in CI)."
        )
    return load_movielens_100k(home, download_if_missing=False)
