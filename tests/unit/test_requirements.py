"""requirements*.txt (supported ranges) and constraints.txt (what `make` installs) must agree."""

from pathlib import Path

import pytest
from packaging.requirements import Requirement

REPO = Path(__file__).resolve().parents[2]


def _pins():
    pins = {}
    for line in (REPO / "constraints.txt").read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if line and not line.startswith("#") and "==" in line:
            name, version = line.split("==", 1)
            pins[name.lower().replace("_", "-")] = version
    return pins


def _requirements():
    for name in ("requirements.txt", "requirements-dev.txt"):
        for line in (REPO / name).read_text(encoding="utf-8").splitlines():
            line = line.split("#", 1)[0].strip()
            if line and not line.startswith("-r"):
                yield name, Requirement(line)


@pytest.mark.parametrize("source, requirement", list(_requirements()), ids=str)
def test_every_requirement_is_pinned_within_its_range(source, requirement):
    pinned = _pins().get(requirement.name.lower().replace("_", "-"))
    assert pinned, "%s: %s has no pin in constraints.txt" % (source, requirement.name)
    assert requirement.specifier.contains(pinned, prereleases=True), "%s: %s excludes the pinned %s" % (source, requirement, pinned)
