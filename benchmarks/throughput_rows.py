"""The rows of benchmarks/train_throughput.py, each run in a fresh child process.

A child is this benchmark's script started with --child=KIND --batch=B: it measures one
row and prints it as JSON on its last line (with its peak resident set). The flags are
train_throughput.py's; see its docstring for what each row times.
"""

import json
import statistics
import sys
import time

import numpy as np
from absl import flags

from common import status_kb
from flops import D, H, L

FLAGS = flags.FLAGS
USERS, ITEMS, RATED = 943, 1682, 0.06

def dataset() -> str:
    return "mnist_5k" if FLAGS.quick else "mnist"


def train_images() -> np.ndarray:
    from vae_tf.datasets import load  # imports no TensorFlow
    return load(dataset()).train


def child_peak(n: int = 4096, reps: int = 5, bfloat16: bool = False) -> dict:
    """GFLOP/s of an n x n float32 matmul, the median of `reps`, per library; with
    `bfloat16` also TensorFlow's bfloat16 matmul ("tensorflow bfloat16")."""
    a = np.random.default_rng(0).standard_normal((n, n), dtype=np.float32)
    b = np.random.default_rng(1).standard_normal((n, n), dtype=np.float32)
    out = {}

    def rate(fn):
        fn()
        times = []
        for _ in range(reps):
            t0 = time.perf_counter()
            fn()
            times.append(time.perf_counter() - t0)
        return 2 * n ** 3 / statistics.median(times) / 1e9

    out["numpy"] = rate(lambda: a @ b)
    try:
        import torch
        ta, tb = torch.from_numpy(a), torch.from_numpy(b)
        out["torch"] = rate(lambda: ta @ tb)
    except ImportError:
        pass
    from vae_tf.startup import import_tensorflow
    tf = import_tensorflow()
    fa, fb = tf.constant(a), tf.constant(b)
    mm = tf.function(lambda x, y: tf.matmul(x, y))
    out["tensorflow"] = rate(lambda: mm(fa, fb).numpy())
    if bfloat16:
        ha, hb = tf.cast(fa, tf.bfloat16), tf.cast(fb, tf.bfloat16)
        out["tensorflow bfloat16"] = rate(lambda: mm(ha, hb).numpy())
    return out


# The launcher, run unchanged in a child that then prints its own peak resident set.
LAUNCHER = """
import json, runpy, sys
sys.argv[0] = "vae_tf.main"
try:
    runpy.run_module("vae_tf.main", run_name="__main__", alter_sys=True)
except SystemExit as stop:
    if stop.code:
        raise
with open("/proc/self/status") as f:
    hwm = next(int(line.split()[1]) for line in f if line.startswith("VmHWM:"))
print(json.dumps({"peak_mb": hwm / 1024}))
"""


def launcher_args(kind: str, batch: int, logdir: str):
    args = [sys.executable, "-c", LAUNCHER, f"--dataset={dataset()}", f"--hidden_dim={H}",
            f"--latent_dim={L}", f"--batch_size={batch}", f"--epochs={FLAGS.epochs}",
            f"--logdir={logdir}"]
    return args + (["--strategy=mirrored", "--cpu_devices=2"] if kind == "mirrored" else [])


def child_pytorch() -> dict:
    import torch
    x = torch.from_numpy(train_images())
    torch.manual_seed(0)

    class VAE(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.hidden, self.mean, self.log_var = (torch.nn.Linear(D, H), torch.nn.Linear(H, L),
                                                    torch.nn.Linear(H, L))
            self.dec_hidden, self.dec_out = torch.nn.Linear(L, H), torch.nn.Linear(H, D)

        def forward(self, xb):
            h = torch.relu(self.hidden(xb))
            mean, log_var = self.mean(h), self.log_var(h)
            z = mean + torch.exp(0.5 * log_var) * torch.randn_like(mean)
            logits = self.dec_out(torch.relu(self.dec_hidden(z)))
            rec = torch.nn.functional.binary_cross_entropy_with_logits(
                logits, xb, reduction="none").sum(1)
            kl = 0.5 * (log_var.exp() + mean ** 2 - 1.0 - log_var).sum(1)
            return (rec + kl).mean()

    model = VAE()
    opt = torch.optim.Adam(model.parameters(), 1e-3)
    seconds = []
    for _ in range(FLAGS.epochs):
        t0 = time.perf_counter()
        order = torch.randperm(len(x))
        for s in range(0, len(x), FLAGS.batch):
            loss = model(x[order[s:s + FLAGS.batch]])
            opt.zero_grad()
            loss.backward()
            opt.step()
        seconds.append(time.perf_counter() - t0)
    return {"per_second": len(x) / statistics.median(seconds[1:] or seconds)}


def child_imputer(kind: str) -> dict:
    from vae_tf.startup import import_tensorflow
    import_tensorflow()
    from vae_tf.imputers.miwae import MIWAEImputer
    from vae_tf.imputers.ratings import RatingVAE
    from vae_tf.imputers.vae import VAEImputer
    from vae_tf.missing import apply_mask, make_mask
    settings = dict(epochs=FLAGS.epochs, batch_size=FLAGS.batch)
    if kind.startswith("rating"):
        rng = np.random.default_rng(0)
        data = np.where(rng.uniform(size=(USERS, ITEMS)) < RATED,
                        rng.integers(1, 6, size=(USERS, ITEMS)), np.nan).astype(np.float32)
        model = RatingVAE(jit_compile=kind == "rating xla", **settings)
        examples = ITEMS
    else:
        x = train_images()
        data = apply_mask(x, make_mask(len(x), (28, 28, 1), "structured", seed=0))
        model = (VAEImputer(hidden_dim=H, latent_dim=L, **settings) if kind == "thesis imputer"
                 else MIWAEImputer(hidden_dim=H, latent_dim=L, hidden_layers=1, train_samples=5,
                                   **settings))  # the FLOPs of flops.py: one hidden layer
        examples = len(x)
    seconds = [h["seconds"] for h in model.fit(data).history_]
    return {"per_second": examples / statistics.median(seconds[1:] or seconds)}


def matmul_step(a, t=lambda v: v.T):
    """One training step's matmuls of the 784-400-64 MLP VAE on arrays `a` (x, w1, wm, wv,
    w3, w4): the forward layers, every weight gradient, every input gradient but x's.
    Stand-ins of the right shapes replace the activations' and loss's gradients; `t`
    transposes (tf.transpose for TensorFlow tensors)."""
    h1 = a["x"] @ a["w1"]
    mean, log_var = h1 @ a["wm"], h1 @ a["wv"]
    h2 = mean @ a["w3"]
    out = h2 @ a["w4"]  # the output's gradient has its shape: reuse it
    g_h2 = out @ t(a["w4"])
    g_z = g_h2 @ t(a["w3"])
    g_h1 = g_z @ t(a["wm"]) + log_var @ t(a["wv"])
    return (t(h2) @ out, t(mean) @ g_h2, t(h1) @ g_z, t(h1) @ log_var, t(a["x"]) @ g_h1)


MATMUL_LIBRARIES = ("numpy", "torch", "tensorflow")


def child_matmuls(library: str) -> dict:
    """The step's matmuls alone (flops.py's count for the launcher's model), nothing else.

    Forward: x W1, h W_mean, h W_log_var, z W3, h2 W4; backward: each layer's weight
    gradient and every input gradient but the data's, on random float32 arrays of the
    batch's shapes, an epoch's worth of steps (55,000 / B; mnist_5k: 5,000 / B) per
    repeat, with one library per child: NumPy or torch (one call per matmul), or
    TensorFlow (the step as one XLA-compiled call, its results returned so none is
    dropped). A reference for how fast these matmuls go on this machine, not a proof
    that no loop can be faster (one could fuse the mean and log-variance heads).
    """
    n, b = len(train_images()), FLAGS.batch
    rng = np.random.default_rng(0)
    shapes = {"x": (b, D), "w1": (D, H), "wm": (H, L), "wv": (H, L), "w3": (L, H), "w4": (H, D)}
    arrays = {k: rng.standard_normal(v, dtype=np.float32) for k, v in shapes.items()}
    if library == "numpy":
        step = lambda: matmul_step(arrays)  # noqa: E731
    elif library == "torch":
        import torch
        torch.set_grad_enabled(False)
        tensors = {k: torch.from_numpy(v) for k, v in arrays.items()}
        step = lambda: matmul_step(tensors)  # noqa: E731
    else:
        from vae_tf.startup import import_tensorflow
        tf = import_tensorflow()
        constants = {k: tf.constant(v) for k, v in arrays.items()}
        compiled = tf.function(lambda a: matmul_step(a, tf.transpose), jit_compile=True)
        step = lambda: compiled(constants)  # noqa: E731
    seconds = []
    for _ in range(max(2, FLAGS.epochs)):
        t0 = time.perf_counter()
        for _ in range(n // b):
            step()
        seconds.append(time.perf_counter() - t0)
    return {"per_second": (n // b) * b / statistics.median(seconds[1:])}


def run_child():
    kind = FLAGS.child
    if kind == "peak":
        out = child_peak()
    elif kind == "pytorch":
        out = child_pytorch()
    elif kind.startswith("matmuls-"):
        out = child_matmuls(kind.split("-", 1)[1])
    else:
        out = child_imputer(kind)
    out["peak_mb"] = status_kb("VmHWM") / 1024
    print(json.dumps(out))
