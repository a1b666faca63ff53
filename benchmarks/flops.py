"""Exact matmul FLOPs per example of a training step (the benchmarks' % of peak rests on it)."""

D, H, L = 784, 400, 64  # the thesis's MLP VAE: 784-400-64


def dense_flops(layers) -> int:
    """2 * MACs per Dense layer for the forward pass, its weight gradient and its input gradient.

    layers: (inputs, outputs, times applied per example, whether its input is the data: no
    input gradient then). Biases, activations, the loss and Adam are not counted.
    """
    total = 0
    for n_in, n_out, times, from_data in layers:
        passes = 2 if from_data else 3
        total += passes * 2 * n_in * n_out * times
    return total


def rating_layers(users: int = 943, hidden: int = 200, latent: int = 32):
    """RatingVAE's item model (its default sizes): [ratings, mask] of the users -> hidden ->
    (mean, log-variance); a linear decoder back to the users."""
    return [(2 * users, hidden, 1, True), (hidden, latent, 1, False),
            (hidden, latent, 1, False), (latent, users, 1, False)]


def mlp_layers(d_in: int, samples: int = 1):
    """The thesis MLP's layers: encoder d_in -> H -> (mean, log-variance); decoder per draw."""
    return [(d_in, H, 1, True), (H, L, 1, False), (H, L, 1, False),
            (L, H, samples, False), (H, D, samples, False)]


def conv_decoder_flops(image_shape, latent: int, hidden: int) -> int:
    """2 * MACs of one forward pass of conv.py's decoder (one draw z -> logits): Dense
    latent -> hidden -> the ceil(H/4) x ceil(W/4) x 64 map, then two 4x4 transposed
    convolutions of stride 2 (64 -> 32 -> C channels), each input pixel x 16 taps."""
    h, w, c = image_shape
    h2, w2, h4, w4 = -(-h // 2), -(-w // 2), -(-h // 4), -(-w // 4)
    return 2 * (latent * hidden + hidden * h4 * w4 * 64 + h4 * w4 * 16 * 64 * 32
                + h2 * w2 * 16 * 32 * c)
