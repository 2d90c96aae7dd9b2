"""``torch.optim`` on the engine: ``SGD``, ``RMSprop``, ``Adam``, ``AdamW`` with PyTorch 2.x's exact formulas."""
from . import lr_scheduler
from .adam import Adam, AdamW
from .optimizer import Optimizer
from .rmsprop import RMSprop
from .sgd import SGD

__all__ = ["Optimizer", "SGD", "RMSprop", "Adam", "AdamW", "lr_scheduler"]
