"""Git revisions of a ``callable`` target's repository, checked out for one A/B run.

Each revision becomes a detached worktree in a temporary folder; a side then imports the
target from there (:attr:`suite.spec.sides.Side.remap`). The worktrees are removed when
the run ends, whatever way it ends.
"""

from __future__ import annotations

import contextlib
import shutil
import subprocess
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path

from suite.errors import SuiteError


class RevisionError(SuiteError):
    """A revision cannot be checked out."""


def repository_of(folder: str) -> Path:
    """The top folder of the git repository holding ``folder``."""
    try:
        done = subprocess.run(
            ["git", "-C", folder, "rev-parse", "--show-toplevel"],
            capture_output=True,
            text=True,
            check=True,
            timeout=30,
        )
    except (OSError, subprocess.SubprocessError) as exc:
        raise RevisionError(
            f"{folder} is not in a git repository, so --rev cannot check it out: {exc}"
        ) from exc
    return Path(done.stdout.strip()).resolve()


def _git(root: Path, *args: str) -> str:
    try:
        done = subprocess.run(
            ["git", "-C", str(root), *args], capture_output=True, text=True, check=True, timeout=120
        )
    except subprocess.CalledProcessError as exc:
        raise RevisionError(f"git {' '.join(args)} in {root}: {exc.stderr.strip()}") from exc
    return done.stdout.strip()


@contextlib.contextmanager
def checked_out(roots: Iterable[Path], revision: str) -> Iterator[tuple[tuple[str, str], ...]]:
    """``revision`` of each repository in ``roots`` as a worktree: ``(root, worktree)`` pairs."""
    scratch = Path(tempfile.mkdtemp(prefix="suite-rev-"))
    made: list[tuple[Path, Path]] = []
    try:
        for index, root in enumerate(dict.fromkeys(roots)):
            commit = _git(root, "rev-parse", "--verify", f"{revision}^{{commit}}")
            tree = scratch / f"{index}-{commit[:12]}"
            _git(root, "worktree", "add", "--detach", str(tree), commit)
            made.append((root, tree))
        yield tuple((str(root), str(tree)) for root, tree in made)
    finally:
        for root, tree in made:
            with contextlib.suppress(RevisionError):
                _git(root, "worktree", "remove", "--force", str(tree))
        shutil.rmtree(scratch, ignore_errors=True)
