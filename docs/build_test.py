"""The docs' generated tables match the reports they come from."""

import importlib.util
from pathlib import Path

# loaded by path: `import build` could find PyPA's build package instead
_spec = importlib.util.spec_from_file_location("docs_build", Path(__file__).with_name("build.py"))
build = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(build)


def test_generated_regions_are_current():
    assert build.stale(build.ROOT) == [], "run python docs/build.py"


def test_a_hand_edited_region_is_stale_and_rebuilt(tmp_path):
    (tmp_path / "docs").mkdir()
    (tmp_path / "report.md").write_text("| a |\n|---|\n| 1 |\n\nnote\n\n| b |\n|---|\n| 2 |\n")
    page = tmp_path / "docs" / "page.md"
    page.write_text("text\n<!-- generated: report.md 1,3 -->\n| a |\n|---|\n| 9 |\n<!-- end -->\n")
    (tmp_path / "README.md").write_text("no regions\n")
    assert build.stale(tmp_path) == [page]
    page.write_text(build.fill(page.read_text(), tmp_path))
    assert page.read_text() == (
        "text\n<!-- generated: report.md 1,3 -->\n| a |\n|---|\n| 1 |\n\n| b |\n|---|\n| 2 |\n<!-- end -->\n"
    )
    assert build.stale(tmp_path) == []
