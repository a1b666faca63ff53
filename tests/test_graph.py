"""The Graphs tab: the model and its loss as a flow, as in the thesis's figures."""

import numpy as np
import pytest
import tensorflow as tf
from tensorboard.backend.event_processing import event_accumulator as ea

from vae_tf import summaries
from vae_tf.config import make_config
from vae_tf.models import VAE
from vae_tf.train_run import run_train
from vae_tf.elbo import ELBO

FLOW = {"x", "encoder", "sampling", "decoder", "reconstruction", "kl", "loss"}


@pytest.fixture(scope="module")
def written(tiny_data, tmp_path_factory):
    """The graph a short run of the launcher's train path wrote, read back from its events."""
    logdir = str(tmp_path_factory.mktemp("graph") / "run")
    config = make_config(epochs=1, batch_size=50, hidden_dim=16, latent_dim=4,
                         jit_compile=False, logdir=logdir)
    run_train(config, data=tiny_data, verbose=0)
    acc = ea.EventAccumulator(logdir)
    acc.Reload()
    return {node.name: node for node in acc.Graph().node}


def scope(name: str) -> str:
    return name.lstrip("^").split("/")[0].split(":")[0]


def test_top_level_is_the_flow_with_no_optimizer_hubs(written):
    assert {scope(name) for name in written} == FLOW
    assert not [n for n in written if n.lower().startswith(("adam", "gradient_tape"))]


def test_encoder_and_decoder_open_onto_their_dense_layers_with_their_variables(written):
    for layer in ("encoder/hidden", "encoder/z_mean", "encoder/z_log_var",
                  "decoder/hidden", "decoder/logits"):
        assert written[f"{layer}/MatMul"].op == "MatMul", layer
        assert f"{layer}/BiasAdd/ReadVariableOp/resource" in written, layer  # reads inside
    assert not [n for n in written if "_1/" in n and n.startswith(("encoder", "decoder"))]


def test_edges_run_from_x_through_the_model_to_the_loss(written):
    def feeds(into: str):
        return {scope(i) for n, node in written.items() if scope(n) == into
                for i in node.input} - {into}

    assert feeds("encoder") == {"x"}
    assert feeds("sampling") == {"encoder"}
    assert feeds("decoder") == {"sampling"}
    assert feeds("reconstruction") == {"x", "decoder"}
    assert feeds("kl") == {"encoder"}
    assert feeds("loss") == {"reconstruction", "kl"}


def test_graph_terms_are_the_training_terms():
    vae = VAE(12, 3, 8, seed=1)
    x = tf.constant(np.random.default_rng(0).uniform(size=(5, 12)).astype(np.float32))
    objective = ELBO(vae, tf.random.Generator.from_seed(7), binarize=True)
    trained = objective.terms((x,))
    objective.rng.reset_from_seed(7)
    shown = summaries.elbo_graph_terms(objective, x)
    for name in ("reconstruction", "kl"):
        np.testing.assert_allclose(shown[name], trained[name], rtol=1e-6)
    np.testing.assert_allclose(shown["loss"], np.mean(trained["loss"]), rtol=1e-6)


def test_keras_scope_names_are_tidied_and_inputs_follow():
    graph = tf.compat.v1.GraphDef()
    for name, inputs in [("x", []), ("enc/enc_1/dense_1/MatMul", ["x"]),
                         ("enc/enc_1/dense_1/Relu", ["enc/enc_1/dense_1/MatMul:0"]),
                         ("Sum", ["^enc/enc_1/dense_1/Relu"]), ("Sum_1/y", []),
                         ("Sum_1", ["Sum", "Sum_1/y"])]:
        graph.node.add(name=name, op="NoOp", input=inputs)
    tidy = summaries.tidy_keras_names(graph)
    assert [(n.name, list(n.input)) for n in tidy.node] == [
        ("x", []), ("enc/dense/MatMul", ["x"]), ("enc/dense/Relu", ["enc/dense/MatMul:0"]),
        ("Sum", ["^enc/dense/Relu"]), ("Sum_1/y", []), ("Sum_1", ["Sum", "Sum_1/y"])]
    clash = tf.compat.v1.GraphDef()
    clash.node.add(name="c/c_1/op")  # would become c/op, which is taken: nothing renamed
    clash.node.add(name="c/op")
    clash.node.add(name="d/d_1/op")
    assert [n.name for n in summaries.tidy_keras_names(clash).node] == [
        "c/c_1/op", "c/op", "d/d_1/op"]
