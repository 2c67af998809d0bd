"""Files are never lost or clobbered: inputs are checked before they are read, outputs before
any work, and an output being written is locked against a second run.

Every command calls `check_paths(inputs, outputs)` first, with every file it reads and every file
(or folder of files) it writes, so a typo such as `--out eval.jsonl` fails in a second instead of
destroying the data, and an output that cannot be written fails before an hour of computation.
"""

from __future__ import annotations

import errno
import fcntl
import os
import stat
from collections.abc import Iterable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

from tunecheck.errors import ConfigError, DataError

# Files a model folder or training run holds: an output inside an input folder may not replace them.
_MODEL_FILES = ("config.json", "generation_config.json", "trainer_state.json", "training_args.bin", "adapter_config.json")
_MODEL_SUFFIXES = (".safetensors", ".bin", ".pt", ".pth", ".gguf", ".model", ".tiktoken")
_MODEL_PREFIXES = ("tokenizer", "special_tokens_map", "vocab", "merges", "events.out.tfevents", "optimizer", "scheduler", "rng_state")


def _kind(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return "a directory"
    if stat.S_ISFIFO(mode):
        return "a named pipe (FIFO)"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    return "not a regular file"


def check_input_file(path: str | Path, what: str = "file", fix: str = "") -> Path:
    """`path` as a readable regular file, or a DataError that says what it is instead. A FIFO or
    a device is refused here: reading one would wait for ever."""
    p = Path(path).expanduser()
    tail = f"; {fix}" if fix else ""
    try:
        st = p.stat()
    except FileNotFoundError:
        raise DataError(f"{path}: no such {what} (check the path)") from None
    except OSError as err:
        raise DataError(f"{path}: cannot read ({err.strerror}){tail}") from None
    if not stat.S_ISREG(st.st_mode):
        raise DataError(f"{path}: is {_kind(st.st_mode)}, not a {what}{tail}")
    if not os.access(p, os.R_OK):
        raise DataError(f"{path}: cannot read (permission denied){tail}")
    return p


def decode_utf8(path: str | Path, data: bytes, fix: str = "re-save the file as UTF-8") -> str:
    """UTF-8 text (a leading BOM dropped), or a DataError naming the line of the first bad byte."""
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as err:
        line = data[: err.start].count(b"\n") + 1
        column = err.start - (data.rfind(b"\n", 0, err.start) + 1) + 1
        raise DataError(f"{path} line {line}: not UTF-8 text (byte 0x{data[err.start]:02x} at column {column}); {fix}") from None


def read_text(path: str | Path, what: str = "file", fix: str = "re-save the file as UTF-8") -> str:
    """A whole regular text file, checked (see `check_input_file`) and decoded (`decode_utf8`)."""
    p = check_input_file(path, what)
    try:
        data = p.read_bytes()
    except OSError as err:
        raise DataError(f"{path}: cannot read ({err.strerror})") from None
    return decode_utf8(path, data, fix)


def jsonl_lines(text: str) -> list[str]:
    """The lines of a JSONL text. Only "\\n" ends a line: `str.splitlines` also splits on U+2028,
    U+2029, U+0085 and other characters that are valid inside JSON strings."""
    lines = text.split("\n")
    return [line[:-1] if line.endswith("\r") else line for line in lines]


@dataclass(frozen=True)
class Output:
    """A path a command writes: a file, or a folder (`files` names what it writes inside)."""

    path: str
    flag: str = "--out"
    files: tuple[str, ...] = ()
    """For a folder output: the names written in it, checked like file outputs."""
    folder: bool = False
    """The path is a folder of outputs (its own files, e.g. a cache), written inside."""

    def targets(self) -> list[Path]:
        base = Path(self.path).expanduser()
        return [base / name for name in self.files] if self.folder else [base]


def _same(a: Path, b: Path) -> bool:
    try:
        if a.resolve() == b.resolve():
            return True
        return a.exists() and b.exists() and os.path.samefile(a, b)
    except OSError:
        return False


def _protected_in(folder: Path) -> Iterator[Path]:
    """The model and training-log files of an input folder (a model dir, a training run)."""
    for root, dirs, names in os.walk(folder):
        dirs[:] = [d for d in dirs if not d.startswith(".") and d != "tunecheck-sweep"]
        for name in names:
            if name in _MODEL_FILES or name.endswith(_MODEL_SUFFIXES) or name.startswith(_MODEL_PREFIXES):
                yield Path(root) / name


def _locations(spec: str) -> list[str]:
    """The local paths an input names: a file or folder, `FILE,name=NAME` (predictions), or a
    model spec `DIR,base=DIR,name=NAME` / `vllm:DIR`; hub ids and servers name none."""
    if spec.startswith(("hf:", "openai:")):
        return []
    spec = spec.removeprefix("vllm:")
    if Path(spec).expanduser().exists():
        return [spec]
    first, *options = spec.split(",")
    return [first] + [v for k, _, v in (o.partition("=") for o in options) if k.strip() == "base"]


def _input_files(inputs: Iterable[str | Path | None]) -> list[tuple[str, Path]]:
    files: list[tuple[str, Path]] = []
    for raw in inputs:
        if raw is None:
            continue
        for location in _locations(str(raw)):
            p = Path(location).expanduser()
            if p.is_dir():
                files.extend((location, f) for f in _protected_in(p))
            elif p.exists():
                files.append((location, p))
    return files


def _place_problem(place: Path) -> str | None:
    """Why files cannot be created at `place` (a folder, made if missing), or None."""
    while not place.exists() and place != place.parent:
        place = place.parent
    if not place.is_dir():
        return f"{place} is a file, not a folder"
    if not os.access(place, os.W_OK | os.X_OK):
        return f"cannot write in {place} (read-only or permission denied)"
    return None


def check_writable(target: Path, flag: str, *, folder: bool = False) -> None:
    """Refuse an output that cannot be written, without creating anything: a directory (for a
    file), a parent that is a file, a read-only place."""
    if folder:
        problem = _place_problem(target)
    elif target.is_dir():
        problem = "is a directory, not a file"
    elif target.exists() and not target.is_file():
        problem = f"is {_kind(target.stat().st_mode)}, not a file"
    elif target.exists() and not os.access(target, os.W_OK):
        problem = "the file is read-only"
    else:
        problem = _place_problem(target.parent)
    if problem:
        raise ConfigError(f"{flag} {target}: {problem}; choose another path")


def check_paths(inputs: Iterable[str | Path | None], outputs: Iterable[Output | None]) -> None:
    """Before any work: no output may be an input (same path after symlinks, or the same file
    through a hard link; inside a folder output too), and every output must be writable.
    Inputs may be files, model/run folders (their model and log files are protected), hub ids
    and `FILE,name=NAME` specs; those that do not exist are the loaders' to report."""
    protected = _input_files(inputs)
    seen: dict[Path, str] = {}
    for out in outputs:
        if out is None or not out.path:
            continue
        if out.folder:
            folder = Path(out.path).expanduser()
            if folder.exists() and not folder.is_dir():
                raise ConfigError(f"{out.flag} {out.path}: is a file; {out.flag} takes a folder")
            if not out.files:
                check_writable(folder, out.flag, folder=True)
        for target in out.targets():
            for given, source in protected:
                if _same(target, source):
                    inside = f" ({target.name} in it)" if out.folder else ""
                    what = f"the input {given}" if Path(given).expanduser().resolve() == source.resolve() else f"{source}, part of the input {given}"
                    raise ConfigError(f"{out.flag} {out.path}{inside} would overwrite {what}; choose another output path")
            key = target.resolve()
            if key in seen and seen[key] != out.flag:
                raise ConfigError(f"{out.flag} {out.path} is also the {seen[key]} output; give each output its own path")
            seen[key] = out.flag
            check_writable(target, out.flag)


@contextmanager
def output_lock(path: str | Path) -> Iterator[None]:
    """Hold an exclusive lock on `path` while it is written, so that a second tunecheck run on
    the same output is refused instead of interleaving rows. The lock is a `.NAME.lock` file
    beside it holding the writer's pid (flock: released by the kernel if the process dies);
    it is removed when the run ends."""
    target = Path(path).expanduser()
    lock = target.parent / f".{target.name}.lock"
    target.parent.mkdir(parents=True, exist_ok=True)
    while True:
        fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as err:
            if err.errno not in (errno.EAGAIN, errno.EACCES):
                os.close(fd)
                raise
            holder = os.read(fd, 32).decode("ascii", "replace").strip() or "?"
            os.close(fd)
            raise ConfigError(
                f"{path} is being written by another tunecheck run (pid {holder}); wait for it to finish or use another --out"
            ) from None
        try:  # the file may have been removed by the previous holder between open and flock: retry
            same = os.fstat(fd).st_ino == os.stat(lock).st_ino
        except FileNotFoundError:
            same = False
        if same:
            break
        os.close(fd)
    try:
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        yield
    finally:
        with suppress(OSError):
            os.unlink(lock)
        os.close(fd)
