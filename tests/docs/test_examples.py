"""Every Python example in docs/ and README.md runs, so no example can rot.

Each fenced ``python`` block is one test (id ``file:line``), run as a complete program in
a fresh interpreter (so ``asyncio.run`` works) in a temporary directory, with a timeout,
behind a socket guard that refuses any address that is not loopback: an example can only
ever talk to the embedded fake server. A block that fails, hangs, or holds no executable
code fails its test.

A block may be preceded by one visible directive comment, honoured here and nowhere else:

- ``<!-- example: pytest -->``: the block is a test module; it is run with pytest and must
  pass at least one test, with none failing or skipped.
- ``<!-- example: requires=fastapi,httpx -->``: the block needs packages that are not
  dependencies of this project; without them the test is *skipped* (reported, with the
  reason, in pytest's summary), never passed.

Other Python-ish fences (``py``, ``python3``, ``pycon``...) are refused, so that no block
can opt out of running by its spelling. Shell blocks are not run, except the Quickstart's
harvest command, which has its own test below.
"""

from __future__ import annotations

import ast
import importlib.util
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import attrs
import pytest

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs" / "src"
TIMEOUT = 60.0

FENCE = re.compile(r"^(?P<indent>[ \t]*)```(?P<info>[^\n`]*)$")
DIRECTIVE = re.compile(r"^<!--\s*example:\s*(?P<body>.*?)\s*-->$")
PYTHONISH = {"py", "py3", "python3", "pycon", "ipython", "ipython3", "python-repl"}

# Run inside the example's interpreter before the example: refuse every connection and
# name lookup that is not loopback, then run the file as __main__ (or pytest on it).
RUNNER = r"""
import ipaddress, socket, sys

def _loopback(host):
    if host in ("localhost", "", None):
        return True
    try:
        return ipaddress.ip_address(str(host).split("%")[0]).is_loopback
    except ValueError:
        return False

_real_connect = socket.socket.connect
_real_connect_ex = socket.socket.connect_ex
_real_getaddrinfo = socket.getaddrinfo

def _check(address):
    if isinstance(address, tuple) and not _loopback(address[0]):
        raise OSError(f"docs examples may only connect to loopback, not {address[0]!r}")

def connect(self, address):
    _check(address)
    return _real_connect(self, address)

def connect_ex(self, address):
    _check(address)
    return _real_connect_ex(self, address)

def getaddrinfo(host, *args, **kwargs):
    if not _loopback(host.decode() if isinstance(host, bytes) else host):
        raise OSError(f"docs examples may only resolve loopback names, not {host!r}")
    return _real_getaddrinfo(host, *args, **kwargs)

socket.socket.connect = connect
socket.socket.connect_ex = connect_ex
socket.getaddrinfo = getaddrinfo

mode, path = sys.argv[1], sys.argv[2]
if mode == "pytest":
    import pytest
    options = ["-p", "no:cacheprovider", "-o", "asyncio_default_fixture_loop_scope=function"]
    sys.exit(pytest.main(["-q", "-rA", *options, path]))
import runpy
sys.argv = [path]
runpy.run_path(path, run_name="__main__")
"""


@attrs.frozen
class Block:
    path: Path
    line: int  # 1-based line of the opening fence
    lang: str
    code: str
    directive: str = ""

    @property
    def id(self) -> str:
        return f"{self.path.relative_to(ROOT)}:{self.line}"


def sources() -> list[Path]:
    return [ROOT / "README.md", *sorted(DOCS.rglob("*.md"))]


def blocks_of(path: Path) -> list[Block]:
    """Every fenced block of a Markdown file, with the directive comment just above it."""
    lines = path.read_text(encoding="utf-8").splitlines()
    found: list[Block] = []
    i = 0
    while i < len(lines):
        opening = FENCE.match(lines[i])
        if not opening or not opening["info"].strip():
            i += 1
            continue
        lang = opening["info"].strip().split()[0].lower()
        indent = len(opening["indent"])
        end = i + 1
        while end < len(lines) and lines[end].strip() != "```":
            end += 1
        if end == len(lines):
            raise AssertionError(f"{path}:{i + 1}: fence never closed")
        body = "\n".join(line[indent:] for line in lines[i + 1 : end]) + "\n"
        above = next((lines[j].strip() for j in range(i - 1, -1, -1) if lines[j].strip()), "")
        directive = DIRECTIVE.match(above)
        found.append(Block(path, i + 1, lang, body, directive["body"] if directive else ""))
        i = end + 1
    return found


ALL_BLOCKS = [block for path in sources() for block in blocks_of(path)]
PYTHON_BLOCKS = [block for block in ALL_BLOCKS if block.lang == "python"]


def parse_directive(text: str) -> tuple[str, list[str]]:
    """(mode, required modules) from a directive body."""
    mode, required = "script", []
    for part in text.split():
        key, _, value = part.partition("=")
        if key == "pytest" and not value:
            mode = "pytest"
        elif key == "requires" and value:
            required = [name for name in value.split(",") if name]
        else:
            raise AssertionError(f"unknown example directive {part!r}")
    return mode, required


def has_executable_code(code: str) -> bool:
    body = ast.parse(code).body
    return any(
        not (isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant))
        and not isinstance(node, ast.Pass)
        for node in body
    )


def run_example(mode: str, code: str, workdir: Path) -> subprocess.CompletedProcess[str]:
    name = "test_example.py" if mode == "pytest" else "example.py"
    script = workdir / name
    script.write_text(code, encoding="utf-8")
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1", "COLUMNS": "100"}
    env.pop("PYTEST_ADDOPTS", None)
    return subprocess.run(
        [sys.executable, "-c", RUNNER, mode, str(script)],
        cwd=workdir,
        env=env,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=False,
    )


def test_examples_were_found() -> None:
    readme = [b for b in PYTHON_BLOCKS if b.path.name == "README.md"]
    assert readme, "README.md's example block was not found"
    assert len(PYTHON_BLOCKS) >= 10, [b.id for b in PYTHON_BLOCKS]


def test_no_python_block_hides_behind_another_fence_name() -> None:
    hidden = [f"{b.id} ({b.lang})" for b in ALL_BLOCKS if b.lang in PYTHONISH]
    assert not hidden, f"use ```python so the block is run: {hidden}"


@pytest.mark.parametrize("block", PYTHON_BLOCKS, ids=lambda b: b.id)
def test_example_runs(block: Block, tmp_path: Path) -> None:
    mode, required = parse_directive(block.directive)
    assert has_executable_code(block.code), f"{block.id}: the block has no executable code"
    missing = [name for name in required if importlib.util.find_spec(name) is None]
    if missing:
        pytest.skip(f"{block.id} needs {', '.join(missing)} (not a dependency; not installed)")
    done = run_example(mode, block.code, tmp_path)
    report = (
        f"{block.id} exited {done.returncode}\n--- stdout\n{done.stdout}\n--- stderr\n{done.stderr}"
    )
    assert done.returncode == 0, report
    if mode == "pytest":
        assert re.search(r"\b\d+ passed\b", done.stdout), report
        assert not re.search(r"\b\d+ (failed|skipped|error|errors|xfailed)\b", done.stdout), report


# --- the Quickstart's harvest demo ----------------------------------------------------------


def quickstart_harvest_command() -> str:
    text = (DOCS / "quickstart.md").read_text(encoding="utf-8")
    found = re.search(r"<!-- quickstart-harvest -->\s*```sh\n(.+?)\n```", text)
    assert found, "quickstart.md must mark its harvest command with <!-- quickstart-harvest -->"
    return found[1]


def readme_main_job() -> str:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    found = re.search(r"<!-- main-job -->\s*```(?:sh|bash|console)?\n(.+?)\n```", text)
    assert found, "README.md must mark its main-job command with <!-- main-job -->"
    return found[1]


def test_quickstart_harvest_is_the_readme_main_job() -> None:
    assert readme_main_job().split(" && ")[-1] == quickstart_harvest_command()


def cli_command() -> list[str]:
    script = Path(sys.executable).with_name("runsignup-async")
    return [str(script)] if script.exists() else [sys.executable, "-m", "runsignup_async.cli"]


def test_quickstart_harvest_demo(tmp_path: Path) -> None:
    argv = shlex.split(quickstart_harvest_command())
    assert Path(argv[0]).name == "runsignup-async", argv
    command = cli_command() + argv[1:]
    dest = tmp_path / argv[argv.index("--dest") + 1]
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}

    first = subprocess.run(
        command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120, check=False
    )
    report = f"--- stdout\n{first.stdout}\n--- stderr\n{first.stderr}"
    assert first.returncode == 0, report
    assert "Harvest complete" in first.stdout, report
    assert re.search(r"[1-9]\d* downloaded", first.stdout), report
    assert (dest / "manifest.sqlite3").is_file()
    images = list(dest.rglob("*-original.jpg"))
    assert images and all(image.stat().st_size > 0 for image in images)

    # Running it again downloads nothing: the Quickstart says so.
    again = subprocess.run(
        command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120, check=False
    )
    assert again.returncode == 0, again.stderr
    assert " 0 downloaded" in again.stdout and "already done" in again.stdout, again.stdout
