"""The checked fleet config, kept between processes: a command skips checking a file that has not changed.

Reading and checking the TOML file (tomllib, the msgspec schema, RE2) costs about as much as starting
Python, and every `granja ask` would pay it. The cache holds the checked FleetConfig together with what
it was built from: the config file's path and exact bytes, and granja's own code (the size and
modification time of each source file of the packages that read and hold the config). Any difference,
and the file is checked again, so an edited config's error is still reported at once.

The cache is a pickle, and unpickling runs code the file names: it is read only if it is a regular file
that the user running granja owns and nobody else may write (as OpenSSH treats its own files), and each
user has a file of their own, so people who share a state directory need not trust each other's files.
"""

from __future__ import annotations

import os
import pickle
import stat
from pathlib import Path

from bot.fleet import FleetConfig

# The packages whose code checks the config or defines what the checked config holds.
_CODE = ("granja", "bot", "hypervisor")
_ROOT = Path(__file__).resolve().parent.parent


def load_checked(path: Path, cache: Path) -> FleetConfig:
    """The fleet config at `path`: from the folder `cache` if it was checked as it is now, else checked."""
    try:
        data = path.read_bytes()
    except OSError:  # load_config says what is wrong with the file
        data = None
    key = (str(path), str(path.absolute()), data, _code_stamp())
    file = cache / f"config-{os.geteuid()}.pickle"
    if data is not None and (cached := _read(file, key)) is not None:
        return cached
    # tomllib, msgspec and RE2 are loaded only here, when the file has to be checked.
    from granja.config import check_config, load_config

    config = load_config(path) if data is None else check_config(path, data)
    _write(file, key, config)
    return config


def _code_stamp() -> tuple[tuple[str, int, int], ...]:
    """Each source file of granja's config code, with its modification time and size."""
    stamp = []
    for package in _CODE:
        for folder, subfolders, files in os.walk(_ROOT / package):
            subfolders[:] = sorted(d for d in subfolders if d != "__pycache__")
            for name in sorted(files):
                if name.endswith(".py"):
                    found = os.stat(os.path.join(folder, name))
                    stamp.append((os.path.join(folder, name), found.st_mtime_ns, found.st_size))
    return tuple(stamp)


def _read(file: Path, key: object) -> FleetConfig | None:
    """The cached config if `file` is the user's own, unwritable by others, and was made under `key`."""
    try:
        fd = os.open(file, os.O_RDONLY | os.O_NOFOLLOW)
    except OSError:
        return None
    with open(fd, "rb") as stream:
        found = os.fstat(fd)
        if (not stat.S_ISREG(found.st_mode) or found.st_uid != os.geteuid()
                or found.st_mode & (stat.S_IWGRP | stat.S_IWOTH)):
            return None
        try:
            if pickle.load(stream) != key:  # plain data: comparing it builds no objects of granja's
                return None
            config = pickle.load(stream)
        except Exception:  # cut short, say: check the file again
            return None
    return config if isinstance(config, FleetConfig) else None


def _write(file: Path, key: object, config: FleetConfig) -> None:
    """Keep the config for the next process; a cache that cannot be written is simply not kept."""
    tmp = file.with_name(f".{file.name}.{os.getpid()}.tmp")
    try:
        file.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o600)
        with open(fd, "wb") as stream:
            pickle.dump(key, stream, protocol=pickle.HIGHEST_PROTOCOL)
            pickle.dump(config, stream, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(tmp, file)  # whole or not at all: a reader never sees half a file
    except (OSError, pickle.PicklingError, TypeError):  # TypeError: an object pickle cannot take
        tmp.unlink(missing_ok=True)
