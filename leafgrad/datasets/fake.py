"""FakeData: random images and labels, the same for the same index every time."""
from __future__ import annotations

from typing import Callable

import numpy as np

from leafgrad.datasets.vision import VisionDataset

__all__ = ["FakeData"]


class FakeData(VisionDataset):
    """``size`` random images with random labels, as torchvision's ``FakeData``: sample ``i``
    is drawn from a generator seeded with ``i + random_offset``, so it never changes.

    Images are uint8 NumPy arrays of shape H x W x C for ``image_size=(C, H, W)``, like the
    images of :class:`CIFAR10` (``transforms.ToTensor()`` makes them C x H x W float tensors);
    labels are ints in ``0 .. num_classes - 1``.

    Example::

        >>> data = FakeData(size=8, image_size=(3, 32, 32), transform=transforms.ToTensor())
        >>> data[0][0].shape
        torch.Size([3, 32, 32])
    """

    def __init__(self, size: int = 1000, image_size: tuple[int, ...] = (3, 224, 224),
                 num_classes: int = 10, transform: Callable | None = None,
                 target_transform: Callable | None = None, random_offset: int = 0) -> None:
        if len(image_size) != 3 or any(int(n) <= 0 for n in image_size):
            raise ValueError(f"image_size must be (channels, height, width) of positive ints, "
                             f"got {image_size}")
        if num_classes <= 0:
            raise ValueError(f"num_classes must be positive, got {num_classes}")
        super().__init__(None, transform, target_transform)
        self.size = size
        self.num_classes = num_classes
        self.image_size = tuple(int(n) for n in image_size)
        self.random_offset = random_offset

    def _sample(self, index: int) -> tuple[np.ndarray, int]:
        if index < 0:
            index += len(self)
        if not 0 <= index < len(self):
            raise IndexError(f"{type(self).__name__} index out of range")
        rng = np.random.default_rng(index + self.random_offset)
        channels, height, width = self.image_size
        image = rng.integers(0, 256, (height, width, channels), dtype=np.uint8)
        target = int(rng.integers(0, self.num_classes))
        return image, target

    def __len__(self) -> int:
        return self.size
