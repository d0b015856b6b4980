"""The product wheels ship the product: no tests, no test harness, no import of the toolkit.

hatchling (every member's build backend) is asked which files each wheel would hold, the same
selection ``uv build --package NAME`` makes, without building eight wheels in isolated
environments on every run.
"""

import re
import tomllib
from pathlib import Path

import pytest
from hatchling.builders.wheel import WheelBuilder

ROOT = Path(__file__).resolve().parents[1]
TOOLKIT = "testing"
# A path that is test code wherever it appears in a wheel.
TEST_CODE = re.compile(r"(^|/)(tests?|testing)(/|\.py$)|(^|/)(conftest|_doubles)\.py$|(^|/)test_")
# Django's settings module for test runs is configuration named by the framework's convention
# (cookiecutter-django's config/settings/test.py), not test code.
ALLOWED = {"core/config/settings/test.py"}


def _product_members() -> list[str]:
    root = tomllib.loads((ROOT / "pyproject.toml").read_text())
    members: list[str] = root["tool"]["uv"]["workspace"]["members"]
    return [folder for folder in members if folder != TOOLKIT]


def _wheel_files(folder: str) -> list[str]:
    builder = WheelBuilder(str(ROOT / folder))
    return [included.distribution_path for included in builder.recurse_included_files()]


@pytest.mark.parametrize("folder", _product_members())
def test_the_product_wheel_holds_no_test_code(folder: str) -> None:
    files = _wheel_files(folder)
    assert any(path.endswith(".py") for path in files), f"{folder}: the wheel would be empty"
    shipped = [path for path in files if TEST_CODE.search(path) and path not in ALLOWED]
    assert shipped == [], f"{folder}'s wheel would ship test code"


@pytest.mark.parametrize("folder", _product_members())
def test_no_product_module_imports_the_toolkit(folder: str) -> None:
    importing = [
        path
        for path in _wheel_files(folder)
        if path.endswith(".py")
        and re.search(r"^\s*(from|import) strangler_testing\b", _source(folder, path), re.M)
    ]
    assert importing == [], f"{folder}: product modules import the dev-only toolkit"


def test_the_toolkit_wheel_holds_the_harness() -> None:
    files = _wheel_files(TOOLKIT)
    assert "strangler_testing/polling.py" in files
    assert "strangler_testing/tracestore/chromium.py" in files


def _source(folder: str, distribution_path: str) -> str:
    for candidate in (ROOT / folder).rglob(Path(distribution_path).name):
        if candidate.as_posix().endswith(distribution_path):
            return candidate.read_text()
    raise AssertionError(f"{distribution_path} not found under {folder}")
