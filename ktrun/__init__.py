"""ktrun: a declarative, YAML-driven runner for Keras Tuner.

Importing `ktrun` imports nothing heavy: the check path must stay free of TensorFlow.
"""

__version__ = "0.1.0"
