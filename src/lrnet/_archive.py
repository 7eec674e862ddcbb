"""Bounded reads of a model file's zip archive: every size is checked before data is read.

A model file is a zip archive of uncompressed ``.npy`` members (what ``np.savez``
writes).  Nothing in it is trusted before it is checked against what the file can
actually hold:

- the zip's central directory may list at most :data:`MAX_MEMBERS` members in at most
  :data:`MAX_DIRECTORY_BYTES` bytes, checked from its end record before
  :class:`zipfile.ZipFile` parses it;
- every member must be stored uncompressed (so a member is never larger than the file:
  no zip bombs), unencrypted, inside the file, once, and the members' sizes together
  at most the file's size (so overlapping members cannot multiply it);
- a member's ``.npy`` header (a few bytes, parsed by :mod:`numpy.lib.format`) must
  declare a plain dtype (never objects: no pickle), C order, and a shape whose data
  fills exactly the rest of the member, and match what the caller expects, before
  its data is allocated and read.

Every failure raises :class:`~lrnet.errors.ModelFileError` naming the file and the
member.  :mod:`lrnet.persistence` decides what the members must hold.
"""

from __future__ import annotations

import hashlib
import math
import zipfile
from pathlib import Path

import numpy as np
from numpy.lib import format as npy

from .errors import ModelFileError

#: most members a model file may have (two per layer, classes, names, training state)
MAX_MEMBERS = 1024
#: most bytes of the zip's central directory (about 256 bytes per member)
MAX_DIRECTORY_BYTES = MAX_MEMBERS * 256
#: bytes read from a member at a time (hashed as they come)
CHUNK_BYTES = 1 << 20
#: the ``.npy`` format versions numpy writes for plain arrays
NPY_VERSIONS = {(1, 0): npy.read_array_header_1_0, (2, 0): npy.read_array_header_2_0}


def pickled(path) -> ModelFileError:
    """The error for a member that holds Python objects (which only pickle can read)."""
    return ModelFileError(
        f"{path}: the file holds pickled Python objects, which lrnet never loads; "
        "it was not written by lrnet."
    )


def corrupted(path, err) -> ModelFileError:
    """The error for a damaged archive, with the first line of ``err``."""
    reason = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
    return ModelFileError(f"{path}: corrupted or truncated model file ({reason}).")


class Archive:
    """An open model file whose directory has been checked; use as a context manager.

    Parameters
    ----------
    path : str or path-like
        The model file.

    Attributes
    ----------
    members : dict
        Member name without ``.npy`` -> :class:`zipfile.ZipInfo`.
    size : int
        The file's size in bytes.
    """

    def __init__(self, path):
        self.path = Path(path)
        self._fh = open(self.path, "rb")  # noqa: SIM115 - closed by close()
        try:
            self.size = self._fh.seek(0, 2)
            self._check_directory()
            self._zip = zipfile.ZipFile(self._fh)
            self.members = self._check_members(self._zip.infolist())
        except ModelFileError:
            self._fh.close()
            raise
        except Exception as err:  # zipfile's errors for a damaged directory
            self._fh.close()
            raise corrupted(self.path, err) from None

    def __enter__(self) -> Archive:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        """Close the file."""
        self._zip.close()
        self._fh.close()

    # ---------------------------------------------------------------- directory
    def _check_directory(self) -> None:
        # zipfile's own reader of the end record, so that the bound applies to exactly
        # the directory ZipFile would then read (and build one ZipInfo per entry of)
        end = zipfile._EndRecData(self._fh)
        if end is None:
            raise ModelFileError(
                f"{self.path}: corrupted or truncated model file (the zip directory at its "
                "end is missing)."
            )
        entries, size = end[zipfile._ECD_ENTRIES_TOTAL], end[zipfile._ECD_SIZE]
        if entries > MAX_MEMBERS or size > MAX_DIRECTORY_BYTES:
            raise ModelFileError(
                f"{self.path}: the zip directory lists {entries} members in {size} bytes; "
                f"a model file has at most {MAX_MEMBERS} members in {MAX_DIRECTORY_BYTES} "
                "bytes. It was not written by lrnet."
            )

    def _check_members(self, infos: list[zipfile.ZipInfo]) -> dict[str, zipfile.ZipInfo]:
        members: dict[str, zipfile.ZipInfo] = {}
        total = 0
        for info in infos:
            name = info.filename.removesuffix(".npy")
            if not info.filename.endswith(".npy") or name in members:
                what = "twice" if name in members else "not as a .npy array"
                raise ModelFileError(
                    f"{self.path}: member {info.filename!r} appears {what}; "
                    "the file was altered or not written by lrnet."
                )
            if info.compress_type != zipfile.ZIP_STORED or info.flag_bits & 0x1:
                raise ModelFileError(
                    f"{self.path}: member {name!r} is compressed or encrypted; lrnet writes "
                    "members uncompressed, so the file was altered or not written by lrnet."
                )
            end = info.header_offset + info.compress_size
            if info.file_size != info.compress_size or end > self.size:
                raise ModelFileError(
                    f"{self.path}: member {name!r} claims {info.file_size} bytes, beyond "
                    f"what the file of {self.size} bytes holds; it is truncated or altered."
                )
            members[name] = info
            total += info.file_size
        if total > self.size:
            raise ModelFileError(
                f"{self.path}: the members claim {total} bytes in all, more than the file's "
                f"{self.size}: they overlap, so the file was altered."
            )
        return members

    # ---------------------------------------------------------------- members
    def read(
        self, name: str, dtype: np.dtype | None = None, shape: tuple | None = None, data=True
    ) -> tuple[np.ndarray | None, str | None]:
        """Member ``name`` as an array, and the SHA-256 of its data.

        ``dtype`` and ``shape``, when given, are what the member must declare; either
        way its declared data must fill the member exactly, so at most the member's
        size (itself at most the file's) is allocated.  ``data=False`` checks the
        member's ``.npy`` header and size only, and returns ``(None, None)``.
        """
        info = self.members[name]
        try:
            with self._zip.open(info) as fh:
                declared, offset = self._npy_header(fh)
                if dtype is not None and (declared[0] != dtype or declared[1] != shape):
                    raise ModelFileError(
                        f"{self.path}: member {name!r} does not match its checksum, dtype or "
                        f"shape in the header (it holds {declared[0].str} of shape "
                        f"{declared[1]}, the header lists {dtype.str} of shape {shape}); "
                        "the file was altered."
                    )
                n_bytes = math.prod(declared[1]) * declared[0].itemsize
                if n_bytes != info.file_size - offset or declared[0].itemsize == 0:
                    raise ModelFileError(
                        f"{self.path}: member {name!r} declares {n_bytes} bytes of "
                        f"{declared[0].str} data of shape {declared[1]} but holds "
                        f"{info.file_size - offset}; it is truncated or altered."
                    )
                return self._data(fh, n_bytes, *declared) if data else (None, None)
        except ModelFileError:
            raise
        except Exception as err:  # zip and npy parsing errors of a damaged member
            raise self._malformed(name, err) from None

    def _npy_header(self, fh) -> tuple[tuple[np.dtype, tuple], int]:
        version = npy.read_magic(fh)
        if version not in NPY_VERSIONS:
            raise ValueError(f"unsupported .npy version {version}")
        shape, fortran, dtype = NPY_VERSIONS[version](fh)
        if dtype.hasobject:
            raise pickled(self.path)
        if fortran or dtype.fields is not None or dtype.subdtype is not None:
            raise ValueError(f"not a plain C-order array (dtype {dtype})")
        return (dtype, tuple(shape)), fh.tell()

    @staticmethod
    def _data(fh, n_bytes: int, dtype: np.dtype, shape: tuple) -> tuple[np.ndarray, str]:
        buffer = np.empty(n_bytes, dtype=np.uint8)
        view, digest, done = memoryview(buffer), hashlib.sha256(), 0
        while done < n_bytes:
            got = fh.readinto(view[done : done + CHUNK_BYTES])
            if not got:
                raise ValueError("the data ends early")
            digest.update(view[done : done + got])
            done += got
        return buffer.view(dtype).reshape(shape), digest.hexdigest()

    def _malformed(self, name: str, err: Exception) -> ModelFileError:
        reason = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        return ModelFileError(
            f"{self.path}: member {name!r} is damaged or not a .npy array ({reason}); the "
            "file is corrupted or was not written by lrnet."
        )
