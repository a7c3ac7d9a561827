"""Files the product keeps under ``var/`` are its owner's only: 0600 files, 0700 folders.

They hold child-protection data (the case record, the Temporal dev server's database, every
email in the mail sink) and secrets (the payload key, the web form's secret, the accounts).

Two parts:

- every ``icpc`` command runs under the umask 077 (:func:`owner_only_files`, set once by
  ``starters.cli``), so whatever it creates (and whatever its children create: the Temporal dev
  server's ``temporal.db``, the mail sink's ``.eml`` files, SQLite's ``-wal`` and ``-shm``
  files, logs) is owner-only, whatever mode the code that creates it asks for;
- ``icpc dev``, ``icpc worker`` and ``icpc web`` check the data folder as they start
  (:func:`check_at_start`): a file or folder that others may read, write or enter is **fixed**
  (its group and other bits removed) when it is ours, and each one is named in a warning line;
  one owned by another user is only named, since it is not ours to change.
"""

from __future__ import annotations

import os
import stat
import sys
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

OWNER_ONLY_UMASK = 0o077
DATA_FOLDER = Path("var")
SHOWN = 5  # warning lines at most; then one line with how many more


@contextmanager
def owner_only_files() -> Iterator[None]:
    """Files created meanwhile (by this process or its children) are 0600, folders 0700."""
    previous = os.umask(OWNER_ONLY_UMASK)
    try:
        yield
    finally:
        os.umask(previous)


@dataclass(frozen=True)
class Exposed:
    path: Path
    mode: int  # the permission bits as found
    fixed: bool

    def line(self) -> str:
        kind = "folder" if stat.S_ISDIR(self.mode) else "file"
        was = f"{stat.S_IMODE(self.mode):04o}"
        if self.fixed:
            now = f"{stat.S_IMODE(self.mode) & ~OWNER_ONLY_UMASK:04o}"
            return f"{kind} {self.path} was open to other users ({was}); made owner-only ({now})"
        return (
            f"{kind} {self.path} is open to other users ({was}) and owned by someone else: fix it"
        )


def _entries(root: Path) -> Iterator[Path]:
    yield root
    if root.is_dir() and not root.is_symlink():
        for folder, folders, files in os.walk(root, followlinks=False):
            for name in (*folders, *files):
                yield Path(folder) / name


def tighten(paths: Iterable[Path]) -> list[Exposed]:
    """Remove group and other bits from each path (folders: everything under them). Symbolic
    links are neither followed nor changed; missing paths are skipped."""
    found: list[Exposed] = []
    seen: set[Path] = set()
    uid = os.geteuid()
    for root in paths:
        for path in _entries(root):
            if path in seen:
                continue
            seen.add(path)
            try:
                info = path.lstat()
            except OSError:
                continue
            if stat.S_ISLNK(info.st_mode) or not info.st_mode & OWNER_ONLY_UMASK:
                continue
            fixed = False
            if info.st_uid == uid:
                try:
                    path.chmod(stat.S_IMODE(info.st_mode) & ~OWNER_ONLY_UMASK)
                    fixed = True
                except OSError:
                    pass
            found.append(Exposed(path, info.st_mode, fixed))
    return found


def product_files(
    environ: dict[str, str] | None = None, data_folder: Path = DATA_FOLDER
) -> list[Path]:
    """The data folder, and the files the settings name wherever they are."""
    from records.database import database_url, sqlite_path

    env = dict(os.environ) if environ is None else environ
    named: list[Path] = [data_folder]
    try:
        record = sqlite_path(database_url(env))
    except Exception:  # a bad URL is reported by the command itself
        record = None
    if record is not None:
        named += [record, Path(f"{record}-wal"), Path(f"{record}-shm")]
    for setting in (
        "ICPC_PAYLOAD_KEY_FILE",
        "ICPC_WEB_SECRET_FILE",
        "ICPC_USERS_FILE",
        "ICPC_OUTBOX_DB",
    ):
        if env.get(setting, "").strip():
            named.append(Path(env[setting].strip()))
    return named


def check_at_start(command: str, paths: Iterable[Path] | None = None) -> list[Exposed]:
    """Tighten the data folder and the product's files; one warning line on stderr for each
    path that others could read."""
    found = tighten(product_files() if paths is None else paths)
    for exposed in found[:SHOWN]:
        print(f"icpc {command}: warning: {exposed.line()}", file=sys.stderr, flush=True)
    if len(found) > SHOWN:
        fixed = sum(e.fixed for e in found[SHOWN:])
        print(
            f"icpc {command}: warning: {len(found) - SHOWN} more paths were open to other users"
            f" ({fixed} of them made owner-only)",
            file=sys.stderr,
            flush=True,
        )
    return found
