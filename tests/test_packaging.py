"""License, citation and project metadata agree with each other and with the package."""

import re
from pathlib import Path

import pytest
import yaml

tomllib = pytest.importorskip("tomllib")  # Python 3.11+

ROOT = Path(__file__).resolve().parents[1]


def _project():
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]


def test_license_file_matches_pyproject():
    project = _project()
    assert project["license"] == "MIT" and project["license-files"] == ["LICENSE"]
    text = (ROOT / "LICENSE").read_text()
    assert text.startswith("MIT License") and "WITHOUT WARRANTY OF ANY KIND" in text


def test_project_has_authors_and_urls():
    project = _project()
    assert project["authors"] and all(a.get("name") for a in project["authors"])
    assert project["urls"] and all(u.startswith("https://") for u in project["urls"].values())


def test_citation_names_this_version_and_the_paper():
    from raekit import __version__

    citation = yaml.safe_load((ROOT / "CITATION.cff").read_text())
    assert citation["cff-version"] == "1.2.0" and citation["type"] == "software"
    assert str(citation["version"]) == _project()["version"] == __version__
    assert citation["license"] == _project()["license"]
    paper = citation["preferred-citation"]
    assert paper["year"] == 2020 and paper["authors"][0]["family-names"] == "Ghosh"
    # README's BibTeX entry cites the same paper.
    bibtex = re.search(r"```bibtex\n(.*?)```", (ROOT / "README.md").read_text(), re.S)
    assert bibtex and f"title     = {{{paper['title']}}}" in bibtex.group(1)
    assert "year      = {2020}" in bibtex.group(1)
