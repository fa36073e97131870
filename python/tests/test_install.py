"""The package installs offline with Debian's pip and setuptools (no index, no build isolation)
into a virtual environment over the system's site-packages (numpy from python3-numpy), and the
installed package finds libumpire: UMPIRE_LIBRARY, then a copy in its own folder, then the
system loader (libumpire.so.0.2); nothing found says how to fix it."""
import os
import shutil
import subprocess
import sys

import pytest

from conftest import REPO


@pytest.fixture(scope="module")
def venv(tmp_path_factory):
    d = tmp_path_factory.mktemp("install")
    src = d / "src"
    shutil.copytree(os.path.join(REPO, "python"), src,  # a copy: setuptools writes build/ into the source
                    ignore=shutil.ignore_patterns("tests", "build", "*.egg-info", "__pycache__"))
    subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", "--without-pip", str(d / "venv")],
                   check=True)
    py = str(d / "venv" / "bin" / "python")
    p = subprocess.run([sys.executable, "-m", "pip", "--python", py, "install", "--no-index", "--no-build-isolation",
                        "--no-cache-dir", "--disable-pip-version-check", "-q", str(src)],
                       capture_output=True, text=True)
    assert p.returncode == 0, p.stdout + p.stderr
    return d, py


def installed(venv, env, code="import umpire, numpy as np; print(umpire.__file__); print(umpire.library_path()); "
                              "print(umpire.score(np.eye(3), [[-0.5]] * 3).incoherence)"):
    d, py = venv
    base = {k: v for k, v in os.environ.items() if k not in ("UMPIRE_LIBRARY", "LD_LIBRARY_PATH", "PYTHONPATH")}
    return subprocess.run([py, "-c", code], capture_output=True, text=True, cwd=str(d), env={**base, **env})


def test_installed_package_finds_the_library(venv):
    d, _ = venv
    lib = os.environ["UMPIRE_LIBRARY"]
    p = installed(venv, {"UMPIRE_LIBRARY": lib})
    assert p.returncode == 0, p.stderr
    where, path, q = p.stdout.split()
    assert where.startswith(str(d / "venv")) and path == lib
    assert float(q) == pytest.approx(1 - 0.6065306597126334, rel=1e-15)  # 1 - e^-0.5


def test_library_search_order(venv):
    lib = os.path.realpath(os.environ["UMPIRE_LIBRARY"])
    # the system loader, by soname (here: LD_LIBRARY_PATH to the build tree's libumpire.so.0.2)
    p = installed(venv, {"LD_LIBRARY_PATH": os.path.dirname(lib)})
    assert p.returncode == 0, p.stderr
    assert p.stdout.split()[1] == "libumpire.so.0.2"
    # a copy in the package's folder comes before the loader
    pkg = os.path.dirname(p.stdout.split()[0])
    shutil.copy(lib, os.path.join(pkg, "libumpire.so.0.2"))
    try:
        p = installed(venv, {"LD_LIBRARY_PATH": os.path.dirname(lib)})
        assert p.returncode == 0, p.stderr
        assert p.stdout.split()[1] == os.path.join(pkg, "libumpire.so.0.2")
    finally:
        os.unlink(os.path.join(pkg, "libumpire.so.0.2"))
    # nothing found: an ImportError that says what to do
    p = installed(venv, {"UMPIRE_LIBRARY": "/no/libumpire.so"})
    assert p.returncode != 0 and "UMPIRE_LIBRARY=/no/libumpire.so: cannot load it" in p.stderr
    p = installed(venv, {})
    if p.returncode == 0:
        pytest.skip("libumpire.so.0.2 is installed system-wide: the not-found message cannot be seen here")
    assert "libumpire not found: set UMPIRE_LIBRARY" in p.stderr


def test_another_release_is_refused(venv, tmp_path):
    """A library of another minor release (another ABI) is refused by name, not misread."""
    cc = os.environ.get("UMPIRE_CC") or shutil.which("cc")
    if not cc:
        pytest.skip("no C compiler (UMPIRE_CC) to build a stand-in library")
    src = tmp_path / "old.c"
    src.write_text('const char *umpire_version(void) { return "0.1.3"; }\n')
    subprocess.run([cc, "-shared", "-fPIC", str(src), "-o", str(tmp_path / "libumpire.so")], check=True)
    p = installed(venv, {"UMPIRE_LIBRARY": str(tmp_path / "libumpire.so")})
    assert p.returncode != 0
    assert "libumpire.so is libumpire 0.1.3; this umpire package binds libumpire 0.2" in p.stderr
