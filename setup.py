"""Keeps the tests out of the wheel; everything else is in pyproject.toml.

The tests sit beside the code they test (`*_test.py`, `conftest.py`), and setuptools selects whole
packages, not modules (`packages.find` and `exclude-package-data` cannot drop a module), so
`build_py` leaves them out here. An editable install does not go through it: tests run from the
checkout. .ci/check_wheel.py checks the built wheel."""

from fnmatch import fnmatch
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

TEST_MODULES = ("*_test.py", "conftest.py")


class BuildPyWithoutTests(build_py):
    def find_package_modules(self, package, package_dir):
        modules = super().find_package_modules(package, package_dir)
        return [m for m in modules if not any(fnmatch(Path(m[2]).name, pattern) for pattern in TEST_MODULES)]


setup(cmdclass={"build_py": BuildPyWithoutTests})
