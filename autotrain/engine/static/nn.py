"""``tf.nn``: the activation the seed's readers know."""
from .api import relu

__all__ = ["relu"]
