"""Every command the README and docs/ show runs, and the output they show is what it prints.

The rule for a page's fenced blocks (README.md and docs/*.md):

- ``sh``/``bash``/``shell`` blocks that call ``autotrain`` are run, all blocks of a page in order, by
  bash with ``set -e -o pipefail`` in one fresh folder holding copies of ``configs/`` and
  ``datasets/`` (so ``runs/`` starts empty there).  ``autotrain`` is this checkout; ``pip`` and
  ``tensorboard`` (an install and a server) do nothing; ``python3 -m pytest`` is left out.
- ``console`` blocks are the same, one ``$ command`` at a time, and the lines after a command are
  its output: each must match one line of what the command printed, in order and adjacent; ``...``
  in a line stands for any text, and a line that is only ``...`` for any number of lines.
- ``python`` blocks run too, in the same folder and order (``python3 -``).
- ``text`` blocks are synopses (``RUN_DIR``, ``[--json]``): not run, but every option they name must
  be one the command's ``--help`` lists.
- An unlabelled block that starts a line with ``autotrain`` is an error: label it.
- ``<!-- test: needs MODULE -->`` on the line before a block skips the page's run when MODULE is not
  importable; ``<!-- test: slow -->`` puts it in the slow tier.

Every relative link must name a file that exists.
"""
from __future__ import annotations

import importlib.util
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
SHELL = {"sh", "bash", "shell"}
FENCE = re.compile(r"^```(\S*)\s*$")
DIRECTIVE = re.compile(r"^<!--\s*test:\s*(.*?)\s*-->\s*$")


@dataclass
class Block:
    page: Path
    line: int
    lang: str
    text: str
    directives: list[str] = field(default_factory=list)

    @property
    def where(self) -> str:
        return f"{self.page.relative_to(ROOT)}:{self.line}"

    def calls_autotrain(self) -> bool:
        return any(command.lstrip().startswith("autotrain") for command in self.commands())

    def commands(self) -> list[str]:
        lines = self.text.splitlines()
        if self.lang == "console":
            return [line[2:] for line in lines if line.startswith("$ ")]
        return lines


def blocks_of(page: Path) -> list[Block]:
    blocks, lines, i = [], page.read_text(encoding="utf-8").splitlines(), 0
    while i < len(lines):
        opened = FENCE.match(lines[i])
        if not opened:
            i += 1
            continue
        directives = []
        if i and (d := DIRECTIVE.match(lines[i - 1])):
            directives.append(d.group(1))
        end = next(j for j in range(i + 1, len(lines)) if lines[j].startswith("```"))
        blocks.append(Block(page, i + 1, opened.group(1), "\n".join(lines[i + 1:end]), directives))
        i = end + 1
    return blocks


ALL_BLOCKS = [block for page in PAGES for block in blocks_of(page)]


def runnable(block: Block) -> bool:
    return (block.lang in SHELL or block.lang == "console") and block.calls_autotrain()


def without_pytest(command: str) -> str:
    """``pip install -e '.[test]' && python3 -m pytest -q`` -> ``pip install -e '.[test]'``: the tests
    would run themselves."""
    if "-m pytest" not in command:
        return command
    code = command.split("  #")[0]
    return " && ".join(part for part in re.split(r"\s*&&\s*", code) if "-m pytest" not in part) or ":"


@pytest.fixture(scope="module")
def bin_dir(tmp_path_factory) -> Path:
    """``autotrain`` is this checkout's; ``pip`` and ``tensorboard`` do nothing."""
    path = tmp_path_factory.mktemp("bin")
    shims = {"autotrain": f'exec "{sys.executable}" -m autotrain "$@"\n', "pip": "exit 0\n", "tensorboard": "exit 0\n"}
    for name, body in shims.items():
        (path / name).write_text("#!/usr/bin/env bash\n" + body)
        (path / name).chmod(0o755)
    return path


def fresh_folder(tmp_path: Path) -> Path:
    for folder in ("configs", "datasets"):
        shutil.copytree(ROOT / folder, tmp_path / folder)
    return tmp_path


def run_bash(script: str, cwd: Path, bin_dir: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}", "COLUMNS": "80",
           "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    return subprocess.run(["bash", "-c", "set -e -o pipefail\n" + script], cwd=cwd, env=env, text=True,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=300)


def pattern(shown: str) -> re.Pattern:
    """A shown output line as a regex: ``...`` is any text (a space before a final ``...`` optional)."""
    shown = shown.rstrip()
    parts = [re.escape(part) for part in shown.split("...")]
    regex = ".*".join(parts)
    if shown.endswith(" ..."):
        regex = ".*".join(parts[:-1]).removesuffix(re.escape(" ")) + r"(\s.*)?"
    return re.compile(regex)


def output_matches(shown: list[str], printed: list[str]) -> str | None:
    """None when ``printed`` has the ``shown`` lines in order, adjacent except where ``...`` stands
    alone; otherwise what went wrong."""
    printed = [line.rstrip() for line in printed]
    at, gap = 0, False
    for line in shown:
        if line.strip() == "...":
            gap = True
            continue
        want = pattern(line)
        while at < len(printed) and not want.fullmatch(printed[at]):
            if not gap:
                return f"expected {line!r}, printed {printed[at]!r}"
            at += 1
        if at == len(printed):
            return f"expected {line!r}: not printed (after the lines before it)"
        at, gap = at + 1, False
    if at < len(printed) and not gap:
        return f"printed more than shown: {printed[at]!r}"
    return None


def page_params(slow_pages=()):
    pages = {}
    for block in ALL_BLOCKS:
        if runnable(block) or block.lang == "python":
            pages.setdefault(block.page, []).append(block)
    params = []
    for page, blocks in pages.items():
        slow = any("slow" in d for b in blocks for d in b.directives)
        marks = [pytest.mark.slow] if slow else []
        params.append(pytest.param(blocks, id=str(page.relative_to(ROOT)), marks=marks))
    return params


def needed_modules(blocks: list[Block]) -> list[str]:
    return [d.split()[1] for b in blocks for d in b.directives if d.startswith("needs ")]


@pytest.mark.parametrize("blocks", page_params())
def test_every_command_a_page_shows_runs_and_prints_what_it_shows(blocks, tmp_path, bin_dir):
    for module in needed_modules(blocks):
        if importlib.util.find_spec(module) is None:
            pytest.skip(f"{blocks[0].page.name} needs {module}")
    cwd = fresh_folder(tmp_path)
    for block in blocks:
        if block.lang == "console":
            check_console_block(block, cwd, bin_dir)
        elif block.lang == "python":
            done = run_bash(f'"{sys.executable}" - <<\'PYTHON_BLOCK\'\n{block.text}\nPYTHON_BLOCK', cwd, bin_dir)
            assert done.returncode == 0, f"{block.where}: exit {done.returncode}\n{done.stdout[-3000:]}"
        else:
            script = "\n".join(without_pytest(line) for line in block.text.splitlines())
            done = run_bash(script, cwd, bin_dir)
            assert done.returncode == 0, f"{block.where}: exit {done.returncode}\n{done.stdout[-3000:]}"


def check_console_block(block: Block, cwd: Path, bin_dir: Path) -> None:
    steps: list[tuple[str, list[str]]] = []
    for line in block.text.splitlines():
        if line.startswith("$ "):
            steps.append((line[2:], []))
        elif steps:
            steps[-1][1].append(line)
    for command, shown in steps:
        done = run_bash(without_pytest(command), cwd, bin_dir)
        assert done.returncode == 0, f"{block.where}: {command}: exit {done.returncode}\n{done.stdout[-3000:]}"
        problem = output_matches(shown, done.stdout.splitlines())
        assert problem is None, f"{block.where}: {command}: {problem}\n--- printed:\n{done.stdout[-3000:]}"


# --- synopses ------------------------------------------------------------------------------------------

SUBCOMMAND = re.compile(r"^autotrain\s+((?:config\s+)?[a-z][a-z-]*)")


def synopsis_lines():
    for block in ALL_BLOCKS:
        if block.lang == "text":
            for line in block.text.splitlines():
                if SUBCOMMAND.match(line):
                    yield pytest.param(line, id=f"{block.where}:{line[:40]}")


@pytest.fixture(scope="module")
def help_of():
    from typer.testing import CliRunner

    from autotrain.cli import app

    runner, seen = CliRunner(), {}

    def help_text(subcommand: str) -> str:
        if subcommand not in seen:
            result = runner.invoke(app, [*subcommand.split(), "--help"], env={"COLUMNS": "200"})
            assert result.exit_code == 0, f"autotrain {subcommand} --help: exit {result.exit_code}"
            seen[subcommand] = result.output
        return seen[subcommand]

    return help_text


@pytest.mark.parametrize("line", list(synopsis_lines()))
def test_every_option_a_synopsis_names_is_one_the_command_has(line, help_of):
    subcommand = SUBCOMMAND.match(line).group(1)
    text = help_of(subcommand)
    for option in re.findall(r"(?<![\w-])--[a-z][a-z-]*", line):
        assert re.search(rf"(?<![\w-]){option}(?![\w-])", text), f"`autotrain {subcommand}` has no {option}: {line}"


# --- the rules themselves --------------------------------------------------------------------------------

def test_no_unlabelled_block_calls_autotrain():
    unlabelled = [b.where for b in ALL_BLOCKS if b.lang == "" and any(
        line.lstrip().removeprefix("$ ").startswith("autotrain") for line in b.text.splitlines())]
    assert not unlabelled, f"label these blocks sh, console or text: {unlabelled}"


def test_the_pages_show_commands_that_run():
    """The rule above would pass on pages with nothing to run; the README's tour alone has a dozen."""
    readme = [b for b in ALL_BLOCKS if b.page.name == "README.md" and runnable(b)]
    assert sum(len([c for c in b.commands() if "autotrain" in c]) for b in readme) >= 10


LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_relative_link_names_a_file_that_exists(page):
    text = re.sub(r"```.*?```", "", page.read_text(encoding="utf-8"), flags=re.S)
    missing = [target for target in LINK.findall(text)
               if "://" not in target and not target.startswith("#")
               and not (page.parent / target.split("#")[0]).exists()]
    assert not missing, f"{page.relative_to(ROOT)}: links to missing files: {missing}"


@pytest.mark.parametrize("shown, printed, ok", [
    (["completed: step 5/5, final loss ..., ... s"], ["completed: step 5/5, final loss 1.5, 0.1 s"], True),
    (["completed: step 5/5, final loss ..."], ["completed: step 6/6, final loss 1.5"], False),
    (["a", "b"], ["a", "x", "b"], False),
    (["a", "...", "b"], ["a", "x", "b"], True),
    (["...", "b"], ["a", "b", "c"], False),
    (["at step 460 ..."], ["at step 460"], True),
    (["at step 460 ..."], ["at step 4601"], False),
    (["x"], [], False),
])
def test_the_output_rule_matches_what_it_says(shown, printed, ok):
    assert (output_matches(shown, printed) is None) is ok
