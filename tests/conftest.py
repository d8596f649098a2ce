"""Shared test fixtures: the shared data folder and the engines.

Tests that need Spark or the shared data run under CI=true without exception: there a
missing prerequisite is a failure, never a skip.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from healthhub.engines.base import Engine, create_engine

# privacy_guard: no vault value in a warehouse, a log, an error or the audit (whole session)
pytest_plugins = ["privacy_guard", "pytester"]

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared" / "data"
IN_CI = os.environ.get("CI", "").lower() == "true"


def require(condition: bool, why: str) -> None:
    """Skip locally when a prerequisite is missing; fail in CI."""
    if condition:
        return
    if IN_CI:
        pytest.fail(f"prerequisite missing in CI: {why}")
    pytest.skip(why)


@pytest.fixture(scope="session")
def shared_data() -> Path:
    require(SHARED.is_dir(), f"shared data folder not found at {SHARED}")
    return SHARED


@pytest.fixture(scope="session")
def duckdb_engine() -> Engine:
    return create_engine("duckdb")


@pytest.fixture(scope="session")
def spark_engine() -> Engine:
    require(shutil.which("java") is not None, "Java 17 is needed for Spark")
    pytest.importorskip("pyspark") if not IN_CI else None
    return create_engine("spark", threads=2)


@pytest.fixture(params=["duckdb", pytest.param("spark", marks=pytest.mark.spark)])
def engine(request: pytest.FixtureRequest) -> Engine:
    name = "duckdb_engine" if request.param == "duckdb" else "spark_engine"
    return request.getfixturevalue(name)
