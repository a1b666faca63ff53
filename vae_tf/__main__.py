from vae_tf.main import entry

entry()
