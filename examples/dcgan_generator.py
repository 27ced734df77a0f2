"""A DCGAN generator for inference, built from suite's layer objects.

The generator of Radford et al. (2016) as PyTorch's DCGAN example defines it: a latent
vector z (N, nz, 1, 1) goes through five transposed convolutions with 4x4 kernels, the
first of stride 1 and no padding (1x1 -> 4x4), the others of stride 2 and padding 1 (each
doubling the map, to 64x64), with batch normalization and ReLU after the first four and
tanh after the last: nz=100 -> 512 -> 256 -> 128 -> 64 -> 3 channels for ngf=64.

For inference, batch normalization with its running statistics is an affine map per output
channel, so it folds into the transposed convolution before it: with ``s = gamma /
sqrt(var + eps)``, the weight's output channel ``co`` is scaled by ``s[co]`` and the layer
gets the bias ``beta - mean * s`` (``fold_batch_norm``). Each layer is then one
``suite.Deconv2d``, which copies its folded weights once and keeps its plan per input
shape; ReLU and tanh run in place in NumPy.

Run it as a script to compare its output and its time with the same PyTorch module (batch
norm unfolded, eval mode) when PyTorch is installed, and with ONNX Runtime running the folded
network as one ONNX graph when onnx and onnxruntime are::

    python examples/dcgan_generator.py                      # batch 16, one thread
    python examples/dcgan_generator.py --threads 2 --algorithm measure

(``python -m suite info`` names the BLAS the GEMMs run on, which decides most of the time.)
"""

import argparse

import numpy as np

import suite

#: Every kernel is 4x4; batch normalization's epsilon is PyTorch's default.
KERNEL = 4
EPS = 1e-5


def layer_geometry(nz=100, ngf=64, nc=3):
    """(input channels, output channels, stride, padding) of each layer."""
    return [(nz, ngf * 8, 1, 0), (ngf * 8, ngf * 4, 2, 1), (ngf * 4, ngf * 2, 2, 1),
            (ngf * 2, ngf, 2, 1), (ngf, nc, 2, 1)]


def random_parameters(seed=0, nz=100, ngf=64, nc=3, dtype=np.float32):
    """Parameters of a generator as training leaves them: per layer the weight (C_in, C_out,
    4, 4), drawn as DCGAN initializes it (normal, standard deviation 0.02), and for the
    first four batch normalization's (gamma, beta, running mean, running variance), the
    running statistics those of the layer's outputs on a batch of latent vectors (as
    training's running averages converge to)."""
    rng = np.random.default_rng(seed)
    h = rng.standard_normal((8, nz, 1, 1)).astype(dtype)
    parameters = []
    geometry = layer_geometry(nz, ngf, nc)
    for i, (c_in, c_out, stride, padding) in enumerate(geometry):
        weight = (0.02 * rng.standard_normal((c_in, c_out, KERNEL, KERNEL))).astype(dtype)
        norm = None
        if i < len(geometry) - 1:
            h = suite.deconv2d(h, weight, stride=stride, padding=padding)
            mean, var = h.mean(axis=(0, 2, 3)), h.var(axis=(0, 2, 3))
            gamma = (1.0 + 0.1 * rng.standard_normal(c_out)).astype(dtype)
            beta = (0.1 * rng.standard_normal(c_out)).astype(dtype)
            norm = (gamma, beta, mean.astype(dtype), var.astype(dtype))
            scale = gamma / np.sqrt(var + EPS)
            h = np.maximum((h - mean[:, None, None]) * scale[:, None, None]
                           + beta[:, None, None], 0).astype(dtype)
        parameters.append((weight, norm))
    return parameters


def fold_batch_norm(weight, gamma, beta, mean, var, eps=EPS):
    """(weight, bias) of the transposed convolution (no bias of its own, weight (C_in, C_out,
    kH, kW)) followed by batch normalization in inference mode, as one layer."""
    scale = gamma / np.sqrt(var + eps)
    folded = weight * scale[None, :, None, None]
    return folded.astype(weight.dtype), (beta - mean * scale).astype(weight.dtype)


class Generator:
    """The generator as five ``suite.Deconv2d`` layers with batch norm folded in;
    ``generator(z)`` maps z (N, nz, 1, 1) to images (N, nc, 64, 64) in [-1, 1]."""

    def __init__(self, parameters, algorithm="auto", num_threads=None):
        nz, ngf, nc = (parameters[0][0].shape[0], parameters[-1][0].shape[0],
                       parameters[-1][0].shape[1])
        self.layers = []
        for (weight, norm), (_, _, stride, padding) in zip(parameters,
                                                           layer_geometry(nz, ngf, nc)):
            bias = None
            if norm is not None:
                weight, bias = fold_batch_norm(weight, *norm)
            self.layers.append(suite.Deconv2d(weight, bias, stride=stride, padding=padding,
                                              algorithm=algorithm, num_threads=num_threads))

    def __call__(self, z):
        h = z
        for layer in self.layers[:-1]:
            h = layer(h)
            np.maximum(h, 0, out=h)                     # ReLU
        h = self.layers[-1](h)
        return np.tanh(h, out=h)


def torch_generator(parameters):
    """The same generator as a PyTorch module in eval mode, batch norm unfolded."""
    import torch

    nz, ngf, nc = (parameters[0][0].shape[0], parameters[-1][0].shape[0],
                   parameters[-1][0].shape[1])
    modules = []
    for (weight, norm), (c_in, c_out, stride, padding) in zip(parameters,
                                                              layer_geometry(nz, ngf, nc)):
        deconv = torch.nn.ConvTranspose2d(c_in, c_out, KERNEL, stride, padding, bias=False)
        deconv.weight.data = torch.from_numpy(weight.copy())
        modules.append(deconv)
        if norm is not None:
            bn = torch.nn.BatchNorm2d(c_out, eps=EPS)
            gamma, beta, mean, var = (torch.from_numpy(a.copy()) for a in norm)
            bn.weight.data, bn.bias.data = gamma, beta
            bn.running_mean.data, bn.running_var.data = mean, var
            modules += [bn, torch.nn.ReLU(inplace=True)]
        else:
            modules.append(torch.nn.Tanh())
    return torch.nn.Sequential(*modules).eval()


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--algorithm", default="auto", choices=suite.DECONV_ALGORITHMS)
    parser.add_argument("--seconds", type=float, default=2.0,
                        help="time budget of the timing, per contestant")
    args = parser.parse_args(argv)

    parameters = random_parameters()
    z = np.random.default_rng(1).standard_normal((args.batch, 100, 1, 1)).astype(np.float32)
    generator = Generator(parameters, algorithm=args.algorithm, num_threads=args.threads)
    images = generator(z)
    print(f"suite {suite.__version__}: {args.batch} images {images.shape[1:]}, values in "
          f"[{images.min():.3f}, {images.max():.3f}]")
    try:
        import torch
    except ImportError:
        print("PyTorch is not installed: no comparison (pip install torch)")
        return 0

    from suite.bench.timing import alternating_medians

    torch.set_num_threads(args.threads)
    module = torch_generator(parameters)
    zt = torch.from_numpy(z)

    def run_torch():
        with torch.inference_mode():
            return module(zt)

    difference = float(np.abs(run_torch().numpy() - images).max())
    print(f"PyTorch {torch.__version__}: largest difference {difference:.2e}")
    run_torch()
    seconds = alternating_medians({"suite": lambda: generator(z), "PyTorch": run_torch},
                                  args.seconds * 2, min_calls=5)
    print(f"{args.threads} thread(s), median of alternating blocks of calls: "
          f"suite {seconds['suite'] * 1e3:.2f} ms, PyTorch {seconds['PyTorch'] * 1e3:.2f} ms: "
          f"{seconds['PyTorch'] / seconds['suite']:.2f}x")
    compare_with_onnxruntime(parameters, z, images, generator, args)
    return 0


def onnx_layers(parameters):
    """The generator as ONNX's ConvTranspose nodes see it: (weight, bias, stride, padding,
    activation) per layer, batch norm folded in as in :class:`Generator`."""
    nz, ngf, nc = (parameters[0][0].shape[0], parameters[-1][0].shape[0],
                   parameters[-1][0].shape[1])
    layers = []
    geometry = layer_geometry(nz, ngf, nc)
    for i, ((weight, norm), (_, _, stride, padding)) in enumerate(zip(parameters, geometry)):
        bias = None
        if norm is not None:
            weight, bias = fold_batch_norm(weight, *norm)
        layers.append((weight, bias, stride, padding,
                       "tanh" if i == len(geometry) - 1 else "relu"))
    return layers


def compare_with_onnxruntime(parameters, z, images, generator, args):
    """The same folded network as one ONNX graph in ONNX Runtime (when it and onnx are
    installed), timed in alternating blocks of calls with suite (its threads spin on after a
    call and would slow whatever ran next: docs/performance.md, item 24)."""
    from suite.bench import peers
    from suite.bench.timing import alternating_medians

    try:
        run_ort = peers.engine_deconv_stack("onnxruntime", z, onnx_layers(parameters),
                                            args.threads)
    except peers.PeerUnavailable as error:
        print(f"ONNX Runtime: not compared ({error})")
        return
    difference = float(np.abs(run_ort() - images).max())
    budget = args.seconds * 2
    seconds = alternating_medians({"suite": lambda: generator(z), "ort": run_ort}, budget,
                                  min_calls=5)
    ours, theirs = seconds["suite"], seconds["ort"]
    print(f"ONNX Runtime (its ONNX graph, batch norm folded): largest difference "
          f"{difference:.2e}; suite {ours * 1e3:.2f} ms, ONNX Runtime {theirs * 1e3:.2f} ms: "
          f"{theirs / ours:.2f}x")


if __name__ == "__main__":
    raise SystemExit(main())
