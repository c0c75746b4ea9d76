"""Output folders the commands write: whole or not at all, and nobody else's files.

Every command that writes files (``report``, ``findings``, the browser view's
"save report") goes through :class:`OutputFolder`:

1. :meth:`OutputFolder.check` runs before any work: the folder name is not
   empty, it is not a file, and a real probe (a hidden folder created and
   removed in its nearest existing ancestor) shows that it can be written.
   Files the run would replace are checked too (see 3), so a doomed run fails
   in a fraction of a second, not after minutes of drawing.
2. :meth:`OutputFolder.write` has the caller write every file into a hidden
   temporary sibling (``.NAME.tmp-XXXX``). When the folder does not exist, that
   sibling becomes it by one rename. Any failure, Ctrl-C, SIGTERM or SIGHUP
   (see :func:`signals_end_the_run`) removes the sibling and any parents it
   created.
3. Into an existing folder, a file is replaced or removed only when a previous
   run of this tool demonstrably wrote it: the folder's manifest
   (:data:`MANIFEST`, written by every run) lists it with the SHA-256 of its
   content, and the file still has that content. Any other file in the way
   (the user's own ``pairs.csv``, a figure they edited) stops the run with
   one message naming the files; files the run does not write are left alone,
   and files an earlier run of the same command wrote but this one does not
   (``compare.csv`` of a run with ``--compare``, the PNGs of a report now
   drawn as SVG) are removed; the files of another command (``findings`` and
   ``report`` into one folder) stay, and stay owned by it. An input of the
   run (the data file) is never replaced or removed: that is refused too.

The manifest is updated before files move (listing the old and the new
content of every name), so an interrupted installation still leaves every
file it touched owned, and after (listing exactly this run's files).
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import shutil
import signal
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from types import FrameType

from ..data.errors import OutputError

#: The manifest a run leaves in its output folder (hidden, JSON).
MANIFEST = ".hpexplorer-manifest.json"
#: Format of the manifest (2: which command wrote each file, in "commands";
#: a version 1 manifest's files are its "written_by" command's).
MANIFEST_VERSION = 2
#: At most this many names are listed in an error message.
SHOWN = 8


def digest(path: Path) -> str:
    """SHA-256 of a file's content (hex)."""
    sha = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            sha.update(block)
    return sha.hexdigest()


def _names(names: Iterable[str], limit: int = SHOWN) -> str:
    items = sorted(names)
    shown = ", ".join(items[:limit])
    return shown + (f", ... ({len(items) - limit} more)" if len(items) > limit else "")


def read_manifest(folder: Path) -> dict[str, list[str]]:
    """The files a previous run wrote into ``folder``: name -> accepted digests.

    An absent, unreadable or malformed manifest owns nothing.
    """
    return _read_manifest(folder)[0]


def _inside(folder: Path, name: str) -> bool:
    """Whether a manifest's ``name`` is a file of ``folder``: a relative path
    without ``..`` that stays inside the folder once links are followed. A
    manifest is read from a folder anyone may have edited or sent; a name
    outside it (``../notes.txt``, an absolute path, a path through a link
    out of the folder) is never a run's file, so it is never replaced or
    removed."""
    path = PurePosixPath(name)
    if (
        not name
        or "\\" in name
        or "\0" in name
        or path.is_absolute()
        or any(part in ("", ".", "..") for part in path.parts)
    ):
        return False
    try:
        return (folder / name).resolve().is_relative_to(folder.resolve())
    except (OSError, RuntimeError, ValueError):
        return False


def _read_manifest(folder: Path) -> tuple[dict[str, list[str]], dict[str, str]]:
    """:func:`read_manifest`, and the command that wrote each file."""
    try:
        data = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}, {}
    files = data.get("files") if isinstance(data, dict) else None
    if not isinstance(files, dict):
        return {}, {}
    owned: dict[str, list[str]] = {}
    for name, value in files.items():
        hashes = value if isinstance(value, list) else [value]
        owned[str(name)] = [str(h) for h in hashes if isinstance(h, str)]
    by = str(data.get("written_by", "")).removeprefix("hpexplorer ")
    commands = data.get("commands")
    if not isinstance(commands, dict):
        commands = {}
    return owned, {name: str(commands.get(name, by)) for name in owned}


def _write_manifest(
    folder: Path, command: str, files: dict[str, list[str]], commands: dict[str, str]
) -> None:
    text = json.dumps(
        {
            "written_by": f"hpexplorer {command}",
            "version": MANIFEST_VERSION,
            "note": "files hpexplorer wrote here and may replace; do not edit",
            "files": {name: files[name] for name in sorted(files)},
            "commands": {name: commands[name] for name in sorted(files)},
        },
        indent=2,
    )
    tmp = folder / f"{MANIFEST}.tmp-{secrets.token_hex(4)}"
    tmp.write_text(text + "\n", encoding="utf-8")
    os.replace(tmp, folder / MANIFEST)


def _same_file(a: Path, b: Path) -> bool:
    try:
        return a.exists() and b.exists() and os.path.samefile(a, b)
    except OSError:
        return False


@dataclass
class OutputFolder:
    """An output folder a command fills with ``names`` (relative file paths).

    Parameters
    ----------
    path : str or path
        The folder (created with its missing parents).
    names : sequence of str
        Every file the run writes, relative to the folder (``"figures/x.png"``).
    command : str
        The command, for messages and the manifest (``"report"``).
    inputs : sequence of path
        The run's input files or folders, which must not be replaced.
    option : str, default="--out"
        How the user named the folder, for messages.
    """

    path: str | os.PathLike[str]
    names: Sequence[str]
    command: str
    inputs: Sequence[str | os.PathLike[str]] = ()
    option: str = "--out"
    _folder: Path = field(init=False, repr=False)

    def __post_init__(self) -> None:
        if not str(self.path).strip():
            raise OutputError(f"{self.option}: the folder name is empty")
        self._folder = Path(self.path)

    @property
    def folder(self) -> Path:
        """The output folder."""
        return self._folder

    # ------------------------------------------------------------- checks

    def check(self) -> None:
        """Fail now, before any work, when the run could not write its files.

        Raises
        ------
        OutputError
            The folder is a file, cannot be created or written, files of
            somebody else are in the way, or an input would be replaced.
        """
        out = self._folder
        try:
            self._check(out)
        except OSError as err:  # e.g. a name too long for the file system
            raise OutputError(
                f"cannot write the {self.command} folder {str(out)!r}: "
                f"{err.strerror or err}"
            ) from None
        self._plan()

    def _check(self, out: Path) -> None:
        if out.exists() and not out.is_dir():
            raise OutputError(f"{self.option} {str(out)!r} exists and is not a folder")
        # the files go into the folder, through a temporary sibling: both the
        # folder (or its nearest existing ancestor) and its parent's must take
        # new entries
        for start in dict.fromkeys((out, out.parent)):
            probe = start
            while not probe.exists() and not probe.is_symlink():
                if probe.parent == probe:
                    break
                probe = probe.parent
            if not probe.is_dir():
                raise OutputError(
                    f"cannot create the {self.command} folder {str(out)!r}: "
                    f"{str(probe)!r} is not a folder"
                )
            try:  # a real probe: permissions, read-only mounts, /proc ...
                test = probe / f".{out.name or 'out'}.probe-{secrets.token_hex(4)}"
                test.mkdir()
                test.rmdir()
            except OSError as err:
                raise OutputError(
                    f"cannot write the {self.command} folder {str(out)!r}: "
                    f"{str(probe)!r} is not writable ({err.strerror or err})"
                ) from None

    def _plan(self) -> tuple[dict[str, list[str]], dict[str, str], set[str]]:
        """What earlier runs own here (name -> digests, name -> command), and
        what this run would remove: the files of an earlier run of the same
        command that this one does not write."""
        out = self._folder
        if not out.is_dir():
            self._check_inputs(set())
            return {}, {}, set()
        owned, commands = _read_manifest(out)
        mine = {
            name
            for name, hashes in owned.items()
            if _inside(out, name)
            and (out / name).is_file()
            and digest(out / name) in hashes
        }
        foreign = []
        for name in self.names:
            target = out / name
            if (target.exists() or target.is_symlink()) and name not in mine:
                foreign.append(name)
            for parent in Path(name).parents:  # a file where a folder must go
                if str(parent) != "." and (out / parent).is_file():
                    foreign.append(parent.as_posix())
        if foreign:
            raise OutputError(
                f"{self.option} {str(out)!r} holds files that hpexplorer did not "
                f"write and would replace: {_names(set(foreign))}; move them or "
                f"choose another {self.option} folder"
            )
        stale = {n for n in mine if commands[n] == self.command} - set(self.names)
        self._check_inputs(set(self.names) | stale)
        kept = {n: h for n, h in owned.items() if n in mine}
        return kept, {n: commands[n] for n in kept}, stale

    def _check_inputs(self, touched: set[str]) -> None:
        out = self._folder
        for source in self.inputs:
            src = Path(source)
            for name in touched:
                if _same_file(src, out / name):
                    raise OutputError(
                        f"the input {str(src)!r} is the file {name!r} that "
                        f"{self.command} would replace in {self.option} "
                        f"{str(out)!r}; inputs are never modified: choose "
                        f"another {self.option} folder"
                    )
            try:
                folder = src.is_dir()
            except OSError:  # not readable as named: loading it says why
                folder = False
            if folder and out.resolve().is_relative_to(src.resolve()):
                raise OutputError(
                    f"{self.option} {str(out)!r} lies inside the input folder "
                    f"{str(src)!r}; inputs are never modified: choose a folder "
                    "outside it"
                )

    # ------------------------------------------------------------- writing

    def write(self, fill: Callable[[Path], None]) -> Path:
        """Have ``fill(tmp)`` write every file of :attr:`names` into ``tmp``,
        then put them in place (see the module docstring).

        Returns
        -------
        pathlib.Path
            The output folder.

        Raises
        ------
        OutputError
            As :meth:`check`, or a write failed (disk full, permissions);
            nothing is left behind.
        """
        self.check()
        out = self._folder
        created: list[Path] = []
        tmp: Path | None = None
        try:
            probe = out.parent
            while not probe.exists():
                created.append(probe)
                probe = probe.parent
            for folder in reversed(created):
                folder.mkdir()
            tmp = self._temp_sibling()
            fill(tmp)
            missing = [n for n in self.names if not (tmp / n).is_file()]
            if missing:  # pragma: no cover - a programming error of a command
                raise RuntimeError(f"{self.command} did not write {missing}")
            self._install(tmp)
            tmp = None
        except OSError as err:
            self._clean(tmp, created)
            raise OutputError(
                f"cannot write the {self.command} folder {str(out)!r}: "
                f"{err.strerror or err}"
            ) from err
        except BaseException:
            self._clean(tmp, created)
            raise
        return out

    def _temp_sibling(self) -> Path:
        out = self._folder
        for _ in range(100):
            tmp = out.parent / f".{out.name}.tmp-{secrets.token_hex(4)}"
            try:
                tmp.mkdir()
            except FileExistsError:
                continue
            return tmp
        raise FileExistsError(f"no free temporary name next to {str(out)!r}")

    @staticmethod
    def _clean(tmp: Path | None, created: list[Path]) -> None:
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)
        for folder in created:
            shutil.rmtree(folder, ignore_errors=True)

    def _install(self, tmp: Path) -> None:
        out = self._folder
        new = {name: [digest(tmp / name)] for name in self.names}
        by = dict.fromkeys(self.names, self.command)
        if not out.exists():
            _write_manifest(tmp, self.command, new, by)
            os.rename(tmp, out)
            return
        owned, commands, stale = self._plan()  # again: the folder may have changed
        both = {n: sorted({*owned.get(n, []), *new.get(n, [])}) for n in {*owned, *new}}
        _write_manifest(out, self.command, both, {**commands, **by})
        last = [n for n in self.names if n.endswith(".json") or n.endswith(".md")]
        for name in last:  # the summary goes last: it marks a whole run
            (out / name).unlink(missing_ok=True)
        for name in sorted(stale):
            (out / name).unlink(missing_ok=True)
        for name in [n for n in self.names if n not in last] + last:
            target = out / name
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(tmp / name, target)
        for sub in sorted(p for p in tmp.rglob("*") if p.is_dir()):  # empty ones too
            (out / sub.relative_to(tmp)).mkdir(parents=True, exist_ok=True)
        # what other commands wrote here stays theirs
        others = {n: h for n, h in owned.items() if n not in new and n not in stale}
        _write_manifest(out, self.command, {**others, **new}, {**commands, **by})
        shutil.rmtree(tmp, ignore_errors=True)


class Terminated(KeyboardInterrupt):
    """SIGTERM or SIGHUP ended the run (cleaned up like Ctrl-C)."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


@contextmanager
def signals_end_the_run() -> Iterator[None]:
    """Turn SIGTERM and SIGHUP into :class:`Terminated` while the block runs.

    Python's default for these signals ends the process at once, without
    ``finally`` blocks, which left hidden temporary folders behind. As an
    exception they unwind like Ctrl-C, so :meth:`OutputFolder.write` cleans up.
    """

    def handler(signum: int, frame: FrameType | None) -> None:
        raise Terminated(signum)

    wanted = [s for s in (signal.SIGTERM, getattr(signal, "SIGHUP", None)) if s]
    previous = {}
    try:
        for sig in wanted:
            if signal.getsignal(sig) is signal.SIG_IGN:
                continue  # ignored on purpose (nohup): it stays ignored
            previous[sig] = signal.signal(sig, handler)
    except ValueError:  # not the main thread: leave the handlers alone
        previous = {}
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)
