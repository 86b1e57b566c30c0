"""Shared helpers: the repository's root and a loader of the example threshold rule."""

import importlib.util
import pathlib

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def root():
    return ROOT


def threshold_module():
    """examples/threshold_decider.py as a module: the built-in threshold rule in
    Python, which the external decider test runs as a program."""
    spec = importlib.util.spec_from_file_location(
        "threshold_decider", ROOT / "examples" / "threshold_decider.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
