"""autotrain: one two-layer network trained four ways on a bundled autograd engine."""

__version__ = "0.1.0"
