"""TensorBoard summaries with stable, grouped tags.

Scalars: `train/loss`, `train/reconstruction`, `train/kl`, `test/loss`, ... (step = epoch);
`steps/loss` (step = optimizer step). Images: `images/reconstructions`,
`images/samples`. The graph of the model and its loss, and the run's hyperparameters.
"""

import re
from typing import Dict, Sequence, Tuple, Union

import numpy as np
import tensorflow as tf

from vae_tf import losses
from vae_tf.models import encode_decode
from vae_tf.elbo import ELBO

ImageShape = Tuple[int, int, int]
GraphDef = tf.compat.v1.GraphDef


def image_grid(rows: Sequence[np.ndarray], image_shape: ImageShape) -> np.ndarray:
    """Tile rows of flat images ([n, D] each) into one [H*rows, W*n, C] picture in [0, 1]."""
    h, w, c = image_shape
    lines = [np.concatenate(list(np.asarray(r).reshape(-1, h, w, c)), axis=1) for r in rows]
    return np.clip(np.concatenate(lines, axis=0), 0.0, 1.0).astype(np.float32)


# The settings TensorBoard's HParams tab shows first (it shows five), and its metrics.
HPARAMS_SHOWN = ("dataset", "preset", "mode", "epochs", "latent_dim")
HPARAMS_METRICS = ("test/loss", "test/kl", "train/loss")


class Writer:
    """A thin wrapper over a tf.summary file writer with the project's tags."""

    def __init__(self, logdir: str):
        self._writer = tf.summary.create_file_writer(logdir)

    def scalars(self, prefix: str, values: Dict[str, float], step: int) -> None:
        with self._writer.as_default(step=step):
            for name, value in values.items():
                tf.summary.scalar(f"{prefix}/{name}", value)

    def image(self, tag: str, picture: np.ndarray, step: int) -> None:
        """One [H, W, C] picture in [0, 1] under `tag`."""
        with self._writer.as_default(step=step):
            tf.summary.image(tag, picture[None], step=step, max_outputs=1)

    def hparams(self, values: Dict[str, object], run_name: str) -> None:
        """Record the run's settings in the HParams tab, its row named `run_name`.

        TensorBoard shows five columns at first: those whose values differ between runs,
        then the rest by name. HPARAMS_SHOWN are marked as differing so that those five
        are what tells runs apart (the preset among them); every other setting is one
        click away. None values are left out.
        """
        from tensorboard.plugins.hparams import api_pb2
        from tensorboard.plugins.hparams import summary as hp_summary
        from tensorboard.plugins.hparams import summary_v2 as hp
        clean = {k: v for k, v in values.items() if isinstance(v, (bool, int, float, str))}
        kinds = {bool: api_pb2.DATA_TYPE_BOOL, str: api_pb2.DATA_TYPE_STRING}
        infos = [api_pb2.HParamInfo(name=k, type=kinds.get(type(v), api_pb2.DATA_TYPE_FLOAT64),
                                    differs=k in HPARAMS_SHOWN) for k, v in clean.items()]
        metrics = [api_pb2.MetricInfo(name=api_pb2.MetricName(tag=tag)) for tag in HPARAMS_METRICS]
        with self._writer.as_default(step=0):
            experiment = hp_summary.experiment_pb(infos, metrics)  # a Summary proto
            tf.summary.experimental.write_raw_pb(experiment.SerializeToString(), step=0)
            hp.hparams(clean, trial_id=run_name)

    def graph(self, graph: Union[tf.Graph, GraphDef]) -> None:
        """Write a graph (traced, not run; e.g. `model_graph`'s) for the Graphs tab."""
        with self._writer.as_default():
            tf.summary.graph(graph)

    def flush(self) -> None:
        self._writer.flush()

    def close(self) -> None:
        self._writer.close()


# -- the Graphs tab ---------------------------------------------------------------------
def elbo_graph_terms(objective: ELBO, x: tf.Tensor) -> Dict[str, tf.Tensor]:
    """`objective.terms((x,))` with each term in its own name scope; `loss` is the batch mean.

    The same functions the training step calls (`ELBO.inputs`, `models.encode_decode`,
    the likelihood and KL of `losses.elbo_terms`), so in a graph they read
    x -> encoder -> sampling -> decoder -> reconstruction, kl -> loss.
    Returns reconstruction [B], kl [B] and loss [] (the -ELBO Adam minimises).
    """
    vae = objective.vae
    if objective.binarize:
        with tf.name_scope("binarize"):
            x = objective.inputs(x)
    logits, z_mean, z_log_var = encode_decode(vae, x, objective.rng)
    with tf.name_scope("reconstruction"):
        reconstruction = -losses.log_likelihood(x, logits, vae.likelihood, vae.log_scale())
    with tf.name_scope("kl"):
        kl = losses.gaussian_kl(z_mean, z_log_var)
    with tf.name_scope("loss"):
        loss = tf.reduce_mean(reconstruction + kl)
    return {"reconstruction": reconstruction, "kl": kl, "loss": loss}


def model_graph(objective: ELBO, batch_size: int, input_dim: int) -> GraphDef:
    """The VAE's forward pass and loss on a batch x [B, D], traced (not run), for TensorBoard.

    The thesis's figures: the whole model as a flow, and the encoder and decoder scopes
    opening onto their layers. The optimizer is left out: its updates read and write every
    variable, and the gradients mirror every op, which TensorBoard pulls out of the main
    graph ("Auxiliary Nodes") and which would hide the flow.
    """
    def forward(x):
        elbo_graph_terms(objective, x)  # nothing returned: no output nodes in the picture

    spec = tf.TensorSpec([batch_size, input_dim], tf.float32, name="x")
    graph = tf.function(forward).get_concrete_function(spec).graph
    return tidy_keras_names(graph.as_graph_def())


_SECOND = re.compile(r"(.+)_1$")


def tidy_keras_names(graph_def: GraphDef) -> GraphDef:
    """Node names as one would write them: `encoder/hidden/MatMul`, not
    `encoder/encoder_1/hidden_1/MatMul`.

    Keras 3 opens a layer's name scope twice per call, once to build (empty) and once to
    run, so the ops land in `<layer>_1`; such a scope becomes `<layer>` when nothing is
    named `<layer>`. A scope directly inside one of the same name (a model called inside
    a scope named after it, as `encode_decode` does) merges into it. The graph is returned
    unchanged if the new names would collide.
    """
    prefixes = {name.rsplit("/", i)[0] for name in (n.name for n in graph_def.node)
                for i in range(name.count("/") + 1)}

    def tidy(name: str) -> str:
        parts, scopes = name.split("/"), []
        for i, part in enumerate(parts[:-1]):
            match = _SECOND.match(part)
            if match and "/".join(parts[:i] + [match.group(1)]) not in prefixes:
                part = match.group(1)
            if not scopes or scopes[-1] != part:
                scopes.append(part)
        return "/".join(scopes + parts[-1:])

    renamed = {n.name: tidy(n.name) for n in graph_def.node}
    if len(set(renamed.values())) < len(renamed):
        return graph_def
    out = GraphDef()
    out.CopyFrom(graph_def)
    for node in out.node:
        node.name = renamed[node.name]
        for j, src in enumerate(node.input):
            ctrl = src.startswith("^")
            base, colon, port = src.lstrip("^").partition(":")
            node.input[j] = ("^" if ctrl else "") + renamed.get(base, base) + colon + port
        if "_class" in node.attr:  # colocation: loc:@<name>
            locs = node.attr["_class"].list.s
            for j, loc in enumerate(locs):
                text = loc.decode()
                if text.startswith("loc:@"):
                    locs[j] = ("loc:@" + renamed.get(text[5:], text[5:])).encode()
    return out
