"""Data sets: the bundled handwritten ``Digits``, ``CIFAR10`` from local files, and
``FakeData``, on a torchvision-like ``VisionDataset`` base; image ``transforms`` with
torchvision's names."""
from leafgrad.datasets import transforms
from leafgrad.datasets.cifar import CIFAR10
from leafgrad.datasets.digits import Digits
from leafgrad.datasets.fake import FakeData
from leafgrad.datasets.vision import VisionDataset

__all__ = ["CIFAR10", "Digits", "FakeData", "VisionDataset", "transforms"]
