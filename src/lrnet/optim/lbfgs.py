"""Full-batch L-BFGS-B from SciPy over the network's objective and gradient.

The flat parameter buffer is exactly the vector SciPy optimises, so no packing
is needed: each evaluation copies SciPy's point into the buffer and returns the
objective and a copy of the gradient.
"""

from __future__ import annotations

import contextlib
import os
import warnings
from collections.abc import Callable

import numpy as np
import scipy
import scipy.optimize
from sklearn.exceptions import ConvergenceWarning
from threadpoolctl import ThreadpoolController

#: SciPy's default relative-reduction tolerance (``factr=1e7`` times machine epsilon).
#: It is lowered to ``tol`` when ``tol`` is smaller, so that a tight gradient tolerance
#: is not cut short by the relative-reduction test.
FTOL = 1e7 * np.finfo(float).eps


def scipy_blas_single_threaded():
    """A context in which SciPy's private BLAS copy (pip wheels) runs one thread.

    SciPy's L-BFGS-B does its vector algebra through SciPy's own OpenBLAS, which pip
    wheels ship separately from NumPy's.  Both pools then spin on the same cores: with
    two threads on two cores, MNIST logistic regression measured up to 4x slower per
    iteration.  NumPy's BLAS, which does the GEMMs, keeps its threads.  Where SciPy
    and NumPy share one BLAS (conda, system packages) nothing is changed.
    """
    scipy_dirs = (
        os.path.dirname(scipy.__file__) + os.sep,
        os.path.dirname(scipy.__file__) + ".libs" + os.sep,
    )
    numpy_dirs = (
        os.path.dirname(np.__file__) + os.sep,
        os.path.dirname(np.__file__) + ".libs" + os.sep,
    )
    controller = ThreadpoolController()
    own = [
        lib.filepath
        for lib in controller.lib_controllers
        if lib.user_api == "blas"
        and lib.filepath.startswith(scipy_dirs)
        and not lib.filepath.startswith(numpy_dirs)
    ]
    if not own:
        return contextlib.nullcontext()
    return controller.select(filepath=own).limit(limits=1)


def minimize(
    fun: Callable[[], float],
    params: np.ndarray,
    grads: np.ndarray,
    max_iter: int,
    max_fun: int,
    tol: float,
    on_iteration: Callable[[float], bool | None] | None = None,
):
    """Minimise ``fun`` over ``params`` in place.

    ``fun()`` evaluates the objective at the current ``params`` and writes the
    gradient into ``grads``.  Returns SciPy's ``OptimizeResult``; ``params`` holds
    its solution.  ``on_iteration(loss)`` runs after every iteration; returning
    ``True`` stops the optimisation there.  Warns with ``ConvergenceWarning`` when ``max_iter`` or
    ``max_fun`` stops it, as scikit-learn does.  A ``KeyboardInterrupt`` raised inside
    SciPy leaves ``params`` at the last completed iteration and propagates.
    """

    def value_and_grad(x):
        params[...] = x
        loss = fun()
        if not np.isfinite(loss):
            raise FloatingPointError("non-finite loss")
        return loss, grads.astype(np.float64)

    accepted = params.astype(np.float64)  # the last iterate, not a line-search probe

    def callback(intermediate_result):
        accepted[...] = intermediate_result.x
        if on_iteration is not None and on_iteration(float(intermediate_result.fun)):
            raise StopIteration

    with scipy_blas_single_threaded():
        try:
            res = scipy.optimize.minimize(
                value_and_grad,
                accepted.copy(),
                method="L-BFGS-B",
                jac=True,
                callback=callback,
                options={
                    "maxiter": max_iter,
                    "maxfun": max_fun,
                    "gtol": tol,
                    "ftol": min(FTOL, tol),
                },
            )
        except KeyboardInterrupt:
            params[...] = accepted  # a KeyboardInterrupt raised mid-iteration keeps the last one
            raise
    params[...] = res.x
    if res.status == 1:
        warnings.warn(
            f"lbfgs failed to converge after {res.nit} iterations (max_iter={max_iter}, "
            f"max_fun={max_fun}): {res.message}. Increase max_iter or scale the data.",
            ConvergenceWarning,
            stacklevel=3,
        )
    return res
