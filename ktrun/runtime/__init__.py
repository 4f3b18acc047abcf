"""The Keras side of the pipeline: oracles, tuner, search loop. Imports TensorFlow; import lazily."""
