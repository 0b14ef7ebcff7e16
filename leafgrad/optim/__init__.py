"""Optimizers (``leafgrad.optim.SGD``, ``Adam`` ...) and learning-rate schedulers
(``leafgrad.optim.lr_scheduler``), with torch's API and update formulas."""
from leafgrad.optim import lr_scheduler
from leafgrad.optim.adadelta import Adadelta
from leafgrad.optim.adagrad import Adagrad
from leafgrad.optim.adam import Adam
from leafgrad.optim.adamw import AdamW
from leafgrad.optim.lbfgs import LBFGS
from leafgrad.optim.optimizer import Optimizer
from leafgrad.optim.rmsprop import RMSprop
from leafgrad.optim.sgd import SGD

__all__ = ["Optimizer", "SGD", "Adam", "AdamW", "RMSprop", "Adagrad", "Adadelta", "LBFGS",
           "lr_scheduler"]
