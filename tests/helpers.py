import numpy as np

# float32 precision: a few ulps of values of order 1, as Keras's own tests allow.
TOL = {"rtol": 1e-5, "atol": 2e-6}


def constant_weights(shapes, kernel=0.01, recurrent=0.02, bias=0.03, cell="lstm"):
    """Keras-test weights: every kernel value 0.01, recurrent 0.02, bias 0.03.

    LSTM's forget block of the bias is 1.0, as Keras's `unit_forget_bias=True` makes it.
    """
    k = np.full(shapes[0], kernel, np.float32)
    r = np.full(shapes[1], recurrent, np.float32)
    b = np.full(shapes[2], bias, np.float32)
    if cell == "lstm":
        u = shapes[1][0]
        b[u : 2 * u] = 1.0
    return [k, r, b]
