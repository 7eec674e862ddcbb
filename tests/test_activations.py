"""Each activation's derivative, written from its output, against finite differences."""

import numpy as np
import pytest

from lrnet.activations import ACTIVATIONS, LEAKY_SLOPE

REFERENCE = {
    "identity": lambda z: z,
    "logistic": lambda z: 1 / (1 + np.exp(-z)),
    "tanh": np.tanh,
    "relu": lambda z: np.maximum(z, 0),
    "leaky_relu": lambda z: np.where(z > 0, z, LEAKY_SLOPE * z),
}


def test_registry_is_complete():
    assert set(ACTIVATIONS) == set(REFERENCE)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
def test_forward_in_place(name, dtype):
    z = np.linspace(-5, 5, 41).astype(dtype)
    out = z.copy()
    assert ACTIVATIONS[name][0](out) is None
    assert out.dtype == dtype
    np.testing.assert_allclose(out, REFERENCE[name](z.astype(np.float64)), rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
def test_derivative_from_output_matches_finite_differences(name):
    z = np.linspace(-4, 4, 40) + 0.013  # no point on relu's kink at 0
    f, df = ACTIVATIONS[name]
    A = z.copy()
    f(A)
    delta = np.full_like(z, 1.5)
    df(A, delta)
    h = 1e-6
    fd = (REFERENCE[name](z + h) - REFERENCE[name](z - h)) / (2 * h)
    np.testing.assert_allclose(delta, 1.5 * fd, rtol=1e-7, atol=1e-9)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", [(7,), (3, 7), (1, 1), (40, 64), (3000,)])
def test_relu_equals_maximum_with_zero_bit_for_bit(dtype, shape):
    """relu runs against a cached row of zeros (faster); the values must not change."""
    from lrnet.activations import relu

    rng = np.random.default_rng(0)
    Z = rng.standard_normal(shape).astype(dtype)
    Z.flat[0] = np.nan
    if Z.size > 1:
        Z.flat[1] = -0.0
    expected = np.maximum(Z, 0.0)
    relu(Z)
    np.testing.assert_array_equal(Z, expected)
    assert np.array_equal(np.signbit(Z), np.signbit(expected))
