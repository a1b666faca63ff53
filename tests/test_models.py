"""Shapes, reparameterization, save/reload of the subclassed Keras models; the model API
(numpy in, numpy out; integer images refused; load_model on a missing path; the other
bad model files are in test_edges_values.py)."""

import keras
import numpy as np
import pytest
import tensorflow as tf

import vae_tf
from vae_tf.errors import UserError
from vae_tf.models import VAE, Decoder, Encoder, encode_decode, load_model, reparameterize


def test_shapes():
    vae = VAE(input_dim=12, latent_dim=3, hidden_dim=7)
    x = np.random.default_rng(0).uniform(size=(5, 12)).astype(np.float32)
    z_mean, z_log_var = vae.encoder(x)
    assert z_mean.shape == (5, 3) and z_log_var.shape == (5, 3)
    assert vae.decoder(z_mean).shape == (5, 12)
    logits, m, v = encode_decode(vae, x, tf.random.Generator.from_seed(0))
    assert logits.shape == (5, 12) and m.shape == (5, 3)
    assert isinstance(vae.encoder, Encoder) and isinstance(vae.decoder, Decoder)


def test_thesis_initializer_is_small_truncated_normal():
    vae = VAE(784, 64, 400, init_stddev=0.001, seed=0)
    w = vae.encoder.hidden.kernel.numpy()
    assert 0.0007 < w.std() < 0.0011  # truncation narrows the 0.001 stddev slightly
    assert np.abs(w).max() <= 0.002 + 1e-9
    assert np.all(vae.encoder.hidden.bias.numpy() == 0)


def test_reparameterize_uses_the_explicit_generator():
    mean, log_var = tf.fill((2000, 2), 3.0), tf.fill((2000, 2), float(np.log(4.0)))
    a = reparameterize(mean, log_var, tf.random.Generator.from_seed(7)).numpy()
    b = reparameterize(mean, log_var, tf.random.Generator.from_seed(7)).numpy()
    np.testing.assert_array_equal(a, b)
    assert abs(a.mean() - 3.0) < 0.15 and abs(a.std() - 2.0) < 0.15


def test_saved_model_reloads_to_identical_outputs(tmp_path):
    vae = VAE(10, 2, 6, seed=3)
    x = np.random.default_rng(2).uniform(size=(4, 10)).astype(np.float32)
    path = str(tmp_path / "model.keras")
    vae.save(path)
    again = keras.models.load_model(path)
    np.testing.assert_array_equal(vae(x).numpy(), again(x).numpy())
    np.testing.assert_array_equal(vae.encoder(x)[1].numpy(), again.encoder(x)[1].numpy())


def test_conv_vae_shapes_for_odd_image_sizes_and_reload(tmp_path):
    for shape in ((28, 28, 1), (32, 32, 3), (112, 92, 1)):
        dim = int(np.prod(shape))
        vae = VAE(dim, 3, 16, arch="conv", image_shape=shape)
        x = np.random.default_rng(0).uniform(size=(2, dim)).astype(np.float32)
        logits, z_mean, _ = encode_decode(vae, x, tf.random.Generator.from_seed(0))
        assert logits.shape == (2, dim) and z_mean.shape == (2, 3)
    path = str(tmp_path / "conv.keras")
    vae.save(path)
    again = keras.models.load_model(path)
    np.testing.assert_array_equal(np.asarray(vae(x)), np.asarray(again(x)))


def test_dense_layers_in_order_and_the_initialisers_public_homes():
    from vae_tf import initializers, models
    vae = VAE(20, 3, 8, seed=0, hidden_layers=3)
    assert [l.name for l in vae.encoder.dense_layers()] == ["hidden", "hidden_2", "hidden_3",
                                                             "z_mean", "z_log_var"]
    assert [l.name for l in vae.decoder.dense_layers()] == ["hidden", "hidden_2", "hidden_3",
                                                             "logits"]
    assert models.thesis_pytorch_init is initializers.thesis_pytorch_init  # still importable
    assert isinstance(initializers.dense_initializer(None, 0), keras.initializers.GlorotUniform)


def test_the_model_api_gives_numpy_for_numpy_and_tensors_for_tensors(tmp_path):
    vae = VAE(12, 3, 7, seed=1)
    x = np.random.default_rng(0).uniform(size=(5, 12)).astype(np.float32)
    z_mean, z_log_var = vae.encode(x)
    outputs = [z_mean, z_log_var, vae.decode(z_mean), vae.reconstruct(x), vae.sample(4, seed=2),
               vae.reconstruct(x.astype(np.float64).tolist())]  # lists and float64 too
    assert all(type(o) is np.ndarray and o.dtype == np.float32 for o in outputs)
    assert [o.shape for o in outputs] == [(5, 3), (5, 3), (5, 12), (5, 12), (4, 12), (5, 12)]
    np.testing.assert_allclose(outputs[2], outputs[3], rtol=1e-6)  # decode(z_mean) = reconstruct
    # Internal callers pass tensors and keep tensors; tf.function traces the same methods.
    assert tf.is_tensor(vae.reconstruct(tf.constant(x)))
    assert tf.is_tensor(vae.decode(tf.zeros((1, 3))))
    assert all(tf.is_tensor(t) for t in vae.encode(tf.constant(x)))
    compiled = tf.function(vae.reconstruct,
                           input_signature=[tf.TensorSpec([None, 12], tf.float32)])
    np.testing.assert_allclose(compiled(x).numpy(), outputs[3], rtol=1e-6)
    vae.save(str(tmp_path / "model.keras"))
    again = load_model(str(tmp_path))  # a run folder holding model.keras
    np.testing.assert_array_equal(again.reconstruct(x), outputs[3])


@pytest.mark.parametrize("method", ["encode", "reconstruct"])
@pytest.mark.parametrize("dtype", [np.uint8, np.int64])
def test_integer_images_are_refused_in_one_line(method, dtype):
    vae = VAE(12, 3, 7)
    x = np.random.default_rng(0).integers(0, 256, size=(2, 12)).astype(dtype)
    for given in (x, tf.constant(x)):
        with pytest.raises(UserError) as err:
            getattr(vae, method)(given)
        assert str(err.value) == (
            f"VAE.{method}: the images are {np.dtype(dtype).name} integers, but the model takes "
            "floats in [0, 1]; pass x / 255 for 0..255 pixels (x.astype('float32') for 0/1 ones)")
    assert vae.decode(np.zeros((1, 3), np.int64)).shape == (1, 12)  # integer codes are numbers


def test_load_model_on_a_missing_path_or_a_folder_without_a_model_says_so(tmp_path):
    with pytest.raises(UserError, match=r"^logs/no-such-run: no such file or folder; pass a run "
                                        r"folder \(--logdir\) or its model.keras$"):
        vae_tf.load_model("logs/no-such-run")
    (tmp_path / "history.jsonl").write_text("")  # a run that has not finished
    with pytest.raises(UserError, match="a folder without model.keras; pass the folder of a "
                                        "finished run"):
        vae_tf.load_model(str(tmp_path))
