"""The 8x8 handwritten digits that scikit-learn ships (1797 images, no download needed)."""
from __future__ import annotations

import functools
from typing import Callable

import numpy as np

from leafgrad._factories import tensor
from leafgrad._tensor import Tensor
from leafgrad.datasets.vision import VisionDataset

__all__ = ["Digits"]

_INSTALL_HINT = ("the Digits data set comes with scikit-learn: install it with "
                 "`pip install leafgrad[data]` (or `pip install scikit-learn`)")


@functools.lru_cache(maxsize=1)
def _load() -> tuple[np.ndarray, np.ndarray]:
    """All 1797 images (float32 in [0, 1], N x 8 x 8) and labels (int64), read once."""
    try:
        from sklearn.datasets import load_digits
    except ImportError as error:
        raise ImportError(_INSTALL_HINT) from error
    digits = load_digits()
    # pixel values are counts of 0..16 set bits in 4x4 blocks of the 32x32 scans
    images = (digits.images / 16.0).astype(np.float32)
    return images, digits.target.astype(np.int64)


def _split(labels: np.ndarray, test_fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Train and test indices: each class is shuffled with ``seed`` and its first
    ``round(test_fraction * count)`` images go to the test set, so both keep the class mix."""
    rng = np.random.default_rng(seed)
    train, test = [], []
    for label in np.unique(labels):
        members = rng.permutation(np.flatnonzero(labels == label))
        n_test = int(round(test_fraction * len(members)))
        test.append(members[:n_test])
        train.append(members[n_test:])
    return np.sort(np.concatenate(train)), np.sort(np.concatenate(test))


def _bilinear_matrix(size_in: int, size_out: int) -> np.ndarray:
    """The (size_out, size_in) matrix of 1-D linear interpolation with half-pixel centres,
    which is what ``F.interpolate(mode='bilinear', align_corners=False)`` does per axis."""
    source = (np.arange(size_out) + 0.5) * (size_in / size_out) - 0.5
    source = np.clip(source, 0, None)  # torch clamps negative source coordinates to 0
    low = np.minimum(np.floor(source).astype(np.int64), size_in - 1)
    high = np.minimum(low + 1, size_in - 1)
    weight_high = source - low
    matrix = np.zeros((size_out, size_in))
    np.add.at(matrix, (np.arange(size_out), low), 1 - weight_high)
    np.add.at(matrix, (np.arange(size_out), high), weight_high)
    return matrix


def resize_bilinear(images: np.ndarray, size: int) -> np.ndarray:
    """Resize ``(..., H, W)`` images to ``size`` x ``size`` with bilinear interpolation."""
    rows = _bilinear_matrix(images.shape[-2], size)
    cols = _bilinear_matrix(images.shape[-1], size)
    return (rows @ images.astype(np.float64) @ cols.T).astype(images.dtype)


class Digits(VisionDataset):
    """scikit-learn's handwritten digits (UCI "optdigits" test set): 1797 grey 8x8 images of
    the digits 0-9, split once into train and test sets that keep the class mix.

    Each sample is ``(image, label)``: a float32 tensor in [0, 1] of shape 1x8x8 (3x32x32 with
    ``resize_to_cifar=True``: upsampled bilinearly and repeated over 3 channels, so networks
    written for CIFAR-10 run unchanged) and an int. ``root`` is accepted for the torchvision
    signature and not used: the data comes with scikit-learn (``pip install leafgrad[data]``).

    Example::

        >>> train = Digits(train=True)
        >>> image, label = train[0]
        >>> image.shape, len(train) + len(Digits(train=False))
        (torch.Size([1, 8, 8]), 1797)
    """

    classes = [str(digit) for digit in range(10)]

    def __init__(self, root: str | None = None, train: bool = True,
                 transform: Callable | None = None, target_transform: Callable | None = None,
                 resize_to_cifar: bool = False, test_fraction: float = 0.2,
                 seed: int = 0) -> None:
        if not 0.0 < test_fraction < 1.0:
            raise ValueError(f"test_fraction must be between 0 and 1 (exclusive), got "
                             f"{test_fraction}")
        super().__init__(root, transform, target_transform)
        self.train = train
        images, labels = _load()
        train_indices, test_indices = _split(labels, test_fraction, seed)
        indices = train_indices if train else test_indices
        images = images[indices][:, None]  # N x 1 x 8 x 8
        if resize_to_cifar:
            images = np.repeat(resize_bilinear(images, 32), 3, axis=1)
        self.data = np.ascontiguousarray(images)
        self.targets = labels[indices].tolist()

    def _sample(self, index: int) -> tuple[Tensor, int]:
        return tensor(self.data[index]), self.targets[index]

    def extra_repr(self) -> str:
        return (f"Split: {'Train' if self.train else 'Test'}\n"
                f"Image shape: {tuple(self.data.shape[1:])}")
