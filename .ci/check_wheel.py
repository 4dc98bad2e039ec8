"""The built wheel holds hqclip without its tests: no `*_test.py`, `conftest.py` or `testdata/`,
and every other file of the package as committed (modules, model configs, prompts, any data the
code reads at run time), so a file the package-data patterns miss fails here, not at a user's.

    python .ci/check_wheel.py dist/hqclip-*.whl
"""

import subprocess
import sys
import zipfile
from fnmatch import fnmatch
from pathlib import PurePosixPath

TEST_FILES = ("*_test.py", "conftest.py")


def is_test(path: str) -> bool:
    p = PurePosixPath(path)
    return "testdata" in p.parts or any(fnmatch(p.name, pattern) for pattern in TEST_FILES)


def main(wheel: str) -> None:
    inside = {n for n in zipfile.ZipFile(wheel).namelist() if n.startswith("hqclip/")}
    committed = set(
        subprocess.run(
            ["git", "ls-files", "-z", "hqclip"], capture_output=True, text=True, check=True
        ).stdout.split("\0")
    ) - {""}
    tests = sorted(n for n in inside if is_test(n))
    missing = sorted(n for n in committed if not is_test(n) and n not in inside)
    for name in tests:
        print(f"{wheel}: test file in the wheel: {name}")
    for name in missing:
        print(f"{wheel}: package file missing from the wheel: {name}")
    if tests or missing:
        sys.exit(1)
    print(f"{wheel}: {len(inside)} package files, no tests")


if __name__ == "__main__":
    main(*sys.argv[1:])
