"""The examples users start from: examples/dcgan_generator.py gives PyTorch's output (the
same module in eval mode, batch norm unfolded) and runs as a script."""

import importlib.util
import os
import subprocess
import sys

import numpy as np
import pytest

from conftest import ROOT, assert_close, load_suite, require_module, require_torch

suite = load_suite()

EXAMPLE = os.path.join(ROOT, "examples", "dcgan_generator.py")


def load_example():
    spec = importlib.util.spec_from_file_location("dcgan_generator", EXAMPLE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_batch_norm_folds_into_the_transposed_convolution():
    # the folding itself, against the definition, without PyTorch
    example = load_example()
    rng = np.random.default_rng(5)
    x = rng.standard_normal((2, 6, 3, 5))
    w = rng.standard_normal((6, 4, 4, 4))
    gamma, beta, mean = (rng.standard_normal(4) for _ in range(3))
    var = rng.uniform(0.1, 2.0, 4)
    y = suite.deconv2d(x, w, stride=2, padding=1)
    c = (slice(None), None, None)
    expected = (y - mean[c]) / np.sqrt(var[c] + example.EPS) * gamma[c] + beta[c]
    folded, bias = example.fold_batch_norm(w, gamma, beta, mean, var)
    assert_close(suite.deconv2d(x, folded, bias, stride=2, padding=1), expected)


@pytest.mark.parametrize("algorithm,num_threads", [("auto", 1), ("measure", 2)])
def test_dcgan_generator_matches_pytorch(algorithm, num_threads):
    torch = require_torch()
    example = load_example()
    parameters = example.random_parameters(seed=3)
    z = np.random.default_rng(4).standard_normal((16, 100, 1, 1)).astype(np.float32)
    generator = example.Generator(parameters, algorithm=algorithm, num_threads=num_threads)
    images = generator(z)
    assert images.shape == (16, 3, 64, 64) and images.dtype == np.float32
    with torch.inference_mode():
        expected = example.torch_generator(parameters)(torch.from_numpy(z)).numpy()
    assert np.abs(expected).max() > 0.3 and np.abs(expected).max() < 0.999   # not saturated
    assert_close(images, expected, np.float32, tol=1e-4)
    np.testing.assert_array_equal(generator(z), images)              # the kept plans


def test_dcgan_generator_runs_as_a_script():
    result = subprocess.run([sys.executable, EXAMPLE, "--batch", "2", "--seconds", "0.01"],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith("suite ") and "2 images (3, 64, 64)" in lines[0]
    try:
        import torch  # noqa: F401
    except ImportError:
        assert "PyTorch is not installed" in lines[1]
    else:
        assert "largest difference" in lines[1] and lines[2].endswith("x")
        assert lines[3].startswith("ONNX Runtime")
        assert lines[3].endswith("x") or "not compared" in lines[3]


def test_dcgan_generator_as_one_onnx_graph_matches_suite():
    # the graph the example times ONNX Runtime on computes the same network
    require_module("onnxruntime")
    from suite.bench import peers

    example = load_example()
    parameters = example.random_parameters(seed=5)
    z = np.random.default_rng(6).standard_normal((3, 100, 1, 1)).astype(np.float32)
    images = example.Generator(parameters, num_threads=1)(z)
    got = peers.engine_deconv_stack("onnxruntime", z, example.onnx_layers(parameters), 1)()
    assert got.shape == images.shape
    assert_close(got, images, np.float32, tol=1e-4)
