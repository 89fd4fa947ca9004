"""What users and AWX get: rendered docs for every module and role, a clean tarball, an EE build context."""

import os
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
MODULES = sorted(path.stem for path in (REPO / "plugins" / "modules").glob("*.py") if path.stem != "__init__")
ROLES = sorted(path.name for path in (REPO / "roles").iterdir() if (path / "meta" / "argument_specs.yml").exists())
ENV = dict(os.environ, ANSIBLE_CONFIG=str(REPO / "ansible.cfg"), ANSIBLE_NOCOLOR="1")


def ansible_doc(*args):
    return subprocess.run([str(BIN / "ansible-doc"), *args], cwd=REPO, env=ENV, text=True, capture_output=True, check=False)


def test_the_collection_has_modules_and_roles_to_document():
    assert "helm_release_checked" in MODULES
    assert "preflight" in ROLES


@pytest.mark.parametrize("module", MODULES)
def test_ansible_doc_renders_every_module_completely(module):
    result = ansible_doc("-t", "module", "mlplatform.selfhosted.%s" % module)
    assert result.returncode == 0, result.stderr
    for section in ("OPTIONS", "EXAMPLES", "RETURN VALUES"):
        assert section in result.stdout, "%s: no %s section" % (module, section)


@pytest.mark.parametrize("role", ROLES)
def test_ansible_doc_renders_every_role_argument_spec(role):
    result = ansible_doc("-t", "role", "mlplatform.selfhosted.%s" % role)
    assert result.returncode == 0, result.stderr
    assert "options" in result.stdout.lower() and "ENTRY POINT" in result.stdout


def test_the_galaxy_tarball_ships_no_tests_venvs_or_caches(tmp_path):
    subprocess.run([str(BIN / "ansible-galaxy"), "collection", "build", "--output-path", str(tmp_path), str(REPO)],
                   env=ENV, check=True, capture_output=True)
    (tarball,) = tmp_path.glob("mlplatform-selfhosted-*.tar.gz")
    with tarfile.open(tarball) as archive:
        names = archive.getnames()
    assert "galaxy.yml" not in names and "MANIFEST.json" in names
    assert "plugins/modules/helm_release_checked.py" in names and "roles/preflight/tasks/main.yml" in names
    forbidden = ("tests/", ".venv", ".sandbox", ".collections", ".sanity", "__pycache__", ".pytest_cache", "bench/", "molecule/")
    assert [name for name in names if any(part in name for part in forbidden)] == []


def test_ansible_builder_makes_a_build_context(tmp_path):
    result = subprocess.run([str(BIN / "ansible-builder"), "create", "--file", str(REPO / "execution-environment.yml"),
                             "--context", str(tmp_path / "context")], cwd=REPO, env=ENV, text=True, capture_output=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    build = tmp_path / "context" / "_build"
    assert (tmp_path / "context" / "Dockerfile").exists()
    assert "kubernetes" in (build / "requirements.txt").read_text()
    assert "kubernetes.core" in (build / "requirements.yml").read_text()
