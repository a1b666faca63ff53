from vae_tf.main import console_main

console_main()
