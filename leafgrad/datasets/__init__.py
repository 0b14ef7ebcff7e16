"""Data sets: the bundled handwritten ``Digits``, ``CIFAR10`` from local files, and
``FakeData``; image ``transforms`` with torchvision's names."""
from leafgrad.datasets import transforms
from leafgrad.datasets.cifar import CIFAR10
from leafgrad.datasets.digits import Digits
from leafgrad.datasets.fake import FakeData

__all__ = ["CIFAR10", "Digits", "FakeData", "transforms"]
