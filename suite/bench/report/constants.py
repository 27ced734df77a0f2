"""What the report's modules share: the benchmark ids it reads, the palette, the order of
the methods, the marker of a missing figure and the exception of a section without data.
"""

#: Okabe-Ito, the colour-blind-safe palette.
PALETTE = ["#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442",
           "#000000"]

#: The methods of one layer, in the order the figures show them.
METHODS = ["deconv", "nearest", "bilinear", "nearest+conv3x3", "bilinear+conv3x3",
           "nearest+add"]
METHOD_COLOURS = dict(zip(METHODS, PALETTE))

#: Parameter columns the benchmarks use (others get their own column too).
PARAM_COLUMNS = ["layer", "counterpart", "mode", "algorithm", "peer", "conv", "geometry",
                 "scale", "stride", "dtype", "threads"]

NOT_MEASURED = "not measured"

#: The files a report writes into its directory: the page and the tidy frame beside it.
PAGE = "index.html"
CSV = "results.csv.gz"

#: The asv benchmarks the report picks out by name (benchmarks/bench_*.py).
GEMM = "bench_ceilings.Gemm.track_gemm_gflops"
COPY = "bench_ceilings.Copy.track_copy_gbps"
DECONV_TIME = "bench_deconv.Deconv2d.time_deconv2d"
DECONV_PEAKMEM = "bench_deconv.Deconv2dPeakMem.peakmem_deconv2d"
FUSED_ADD_TIME = "bench_fused.UpsampleAdd.time_upsample_add"
COUNTERPART_TIME = "bench_counterparts.Counterpart.time_counterpart"
COUNTERPART_PEAKMEM = "bench_counterparts.CounterpartPeakMem.peakmem_counterpart"
FUSED_CONV = "bench_fused.UpsampleConv2d"
FUSED_CONV_TIME = FUSED_CONV + ".time_upsample_conv2d"
PEERS = "bench_peers"
#: Layers never tuned on (benchmarks/bench_sweep.py): each configuration timed per contestant.
SWEEP_TIME = "bench_sweep.Sweep.time_layer"
#: The method name of a peak-memory class's empty-body baseline.
PEAKMEM_BASELINE = "peakmem_baseline"


class NotMeasured(Exception):
    """Raised by a page section whose data the results do not hold; its message (one line:
    what is missing and how to measure it) is shown in the section's place."""
