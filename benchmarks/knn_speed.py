"""K-NN imputation speed and memory: the thesis's MNIST setting, a large run, scikit-learn
side by side, and a scaling curve. Prints tables; asserts nothing.

    python benchmarks/knn_speed.py --data_dir=../shared/data/mnist
    python benchmarks/knn_speed.py --data_dir=../shared/data/mnist --skip_large   # quick

Peak memory: numpy allocations traced with tracemalloc during the call (numpy reports its
buffers to it), besides the arrays that existed before.
"""

import os
import statistics
import sys
import time
import tracemalloc

import numpy as np
from absl import app, flags

from vae_tf.datasets import load
from vae_tf.imputers.knn import KNNImputer
from vae_tf.metrics import mae, rmse
from vae_tf.missing import apply_mask, make_mask

flags.DEFINE_string("data_dir", os.environ.get("VAE_TF_DATA_DIR", "") and
                    os.path.join(os.environ["VAE_TF_DATA_DIR"], "mnist"),
                    "Folder with the MNIST IDX files (default: $VAE_TF_DATA_DIR/mnist).")
flags.DEFINE_integer("repeats", 5, "Repeats of the small timings (median reported).")
flags.DEFINE_bool("skip_large", False, "Skip the 10,000 x 60,000 run.")
flags.DEFINE_integer("sklearn_queries", 250, "Queries of the scikit-learn comparison.")
FLAGS = flags.FLAGS


def timed(fn):
    tracemalloc.start()
    t0 = time.perf_counter()
    out = fn()
    seconds = time.perf_counter() - t0
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return out, seconds, peak


def holes(x, seed):
    mask = make_mask(len(x), (28, 28, 1), "structured", seed)
    return apply_mask(x, mask), mask


def main(_):
    if not FLAGS.data_dir:
        sys.exit("knn_speed: pass --data_dir=<folder with the MNIST IDX files>")
    data = load("mnist", FLAGS.data_dir)
    all_train = np.concatenate([data.train, data.validation])  # the 60,000 training images
    print("K-NN imputation on real MNIST, structured holes, K=10, softmax weights\n")

    # (a) The thesis's setting: 250 test queries (first 25 of each tenth), 10,000 references.
    q_idx = np.concatenate([np.arange(t * 1000, t * 1000 + 25) for t in range(10)])
    queries, q_mask = holes(data.test[q_idx], seed=1)
    ref, _ = holes(all_train[:10000], seed=2)
    imputer = KNNImputer(10).fit(ref)
    runs = [timed(lambda: imputer.transform(queries)) for _ in range(FLAGS.repeats)]
    out = runs[0][0]
    print("| setting | queries | references | median s | peak MB | RMSE missing | MAE missing |")
    print("|---|---|---|---|---|---|---|")
    print(f"| thesis (a) | 250 | 10,000 | {statistics.median(r[1] for r in runs):.3f} | "
          f"{max(r[2] for r in runs) / 2**20:.0f} | {rmse(data.test[q_idx], out, ~q_mask):.4f} | "
          f"{mae(data.test[q_idx], out, ~q_mask):.4f} |")

    # (b) 10,000 queries x 60,000 references.
    if not FLAGS.skip_large:
        big_q, big_mask = holes(data.test, seed=3)
        big_ref, _ = holes(all_train, seed=4)
        out, seconds, peak = timed(lambda: KNNImputer(10).fit(big_ref).transform(big_q))
        print(f"| large (b) | 10,000 | 60,000 | {seconds:.1f} | {peak / 2**20:.0f} | "
              f"{rmse(data.test, out, ~big_mask):.4f} | {mae(data.test, out, ~big_mask):.4f} |")

    # (c) scikit-learn's KNNImputer side by side on the same data and K.
    from sklearn.impute import KNNImputer as SkKNN
    n = FLAGS.sklearn_queries
    sk = SkKNN(n_neighbors=10).fit(ref)
    sk_out, sk_s, _ = timed(lambda: sk.transform(queries[:n]))
    ours_runs = [timed(lambda: imputer.transform(queries[:n])) for _ in range(3)]
    ours_s = statistics.median(r[1] for r in ours_runs)
    truth, m = data.test[q_idx][:n], ~q_mask[:n]
    print(f"\nscikit-learn side by side ({n} queries, 10,000 references, K=10, one run each):\n")
    print("| imputer | seconds | RMSE missing | MAE missing |")
    print("|---|---|---|---|")
    print(f"| sklearn.impute.KNNImputer (nan_euclidean, uniform) | {sk_s:.2f} | "
          f"{rmse(truth, sk_out, m):.4f} | {mae(truth, sk_out, m):.4f} |")
    print(f"| vae_tf.KNNImputer (thesis distance, softmax) | {ours_s:.3f} | "
          f"{rmse(truth, ours_runs[0][0], m):.4f} | {mae(truth, ours_runs[0][0], m):.4f} |")
    print(f"\nspeed-up: {sk_s / ours_s:.0f}x")

    # (d) Scaling: queries x references.
    print("\n| queries | references | seconds | peak MB |")
    print("|---|---|---|---|")
    for n_q, n_ref in ((250, 10000), (1000, 10000), (1000, 60000), (4000, 60000)):
        q, _ = holes(data.test[:n_q], seed=5)
        r, _ = holes(all_train[:n_ref], seed=6)
        imp = KNNImputer(10).fit(r)
        _, seconds, peak = timed(lambda: imp.transform(q))
        print(f"| {n_q:,} | {n_ref:,} | {seconds:.2f} | {peak / 2**20:.0f} |")


if __name__ == "__main__":
    app.run(main)
