"""The benchmarks' FLOP counts (the % of peak they print rests on them)."""

import importlib.util
import os

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.fixture(scope="module")
def throughput():
    spec = importlib.util.spec_from_file_location(
        "bench_flops", os.path.join(ROOT, "benchmarks", "flops.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_thesis_mlp_flops_per_image(throughput):
    # Forward 2 * (784*400 + 2*400*64 + 64*400 + 400*784) = 1.408 M; weight gradients the
    # same; input gradients the same less the first layer's (its input is the data).
    forward = 2 * (784 * 400 + 2 * 400 * 64 + 64 * 400 + 400 * 784)
    assert forward == 1_408_000
    assert throughput.dense_flops(throughput.mlp_layers(784)) == 3 * forward - 2 * 784 * 400


def test_importance_samples_multiply_the_decoder_only(throughput):
    one = throughput.dense_flops(throughput.mlp_layers(1568, samples=1))
    five = throughput.dense_flops(throughput.mlp_layers(1568, samples=5))
    decoder = 3 * 2 * (64 * 400 + 400 * 784)
    assert five - one == 4 * decoder
