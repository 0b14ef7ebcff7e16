"""``VisionDataset``: what the image data sets share, as torchvision's base class."""
from __future__ import annotations

import os
from typing import Any, Callable

from leafgrad.utils.data.dataset import Dataset

__all__ = ["VisionDataset"]


class VisionDataset(Dataset):
    """Base of the image data sets: a ``root`` folder (or None), a ``transform`` applied to
    each image and a ``target_transform`` applied to each label, and torchvision's ``repr``.

    Subclasses define ``_sample(index)``, the untransformed ``(image, target)``, and
    ``__len__`` when they do not keep their images in ``self.data``; ``extra_repr`` adds lines
    to the ``repr``.

    Example::

        >>> class Squares(VisionDataset):
        ...     data = [0, 1, 4]
        ...     def _sample(self, index): return self.data[index], index
        >>> Squares(transform=str)[2]
        ('4', 2)
    """

    _repr_indent = 4

    def __init__(self, root: str | os.PathLike | None = None, transform: Callable | None = None,
                 target_transform: Callable | None = None) -> None:
        self.root = None if root is None else os.fspath(root)
        self.transform = transform
        self.target_transform = target_transform

    def _sample(self, index: int) -> tuple[Any, Any]:
        raise NotImplementedError(f"{type(self).__name__} must define _sample(index)")

    def __getitem__(self, index: int) -> tuple[Any, Any]:
        image, target = self._sample(index)
        if self.transform is not None:
            image = self.transform(image)
        if self.target_transform is not None:
            target = self.target_transform(target)
        return image, target

    def __len__(self) -> int:
        return len(self.data)

    def extra_repr(self) -> str:
        return ""

    def __repr__(self) -> str:
        body = [f"Number of datapoints: {len(self)}"]
        if self.root is not None:
            body.append(f"Root location: {self.root}")
        body += self.extra_repr().splitlines()
        if self.transform is not None or self.target_transform is not None:
            body.append(self._transforms_repr())
        return "\n".join([f"Dataset {type(self).__name__}"] +
                         [" " * self._repr_indent + line for line in body])

    def _transforms_repr(self) -> str:
        """torchvision's StandardTransform block (whose lines after the first, as there, are
        not indented)."""
        lines = ["StandardTransform"]
        for head, transform in (("Transform: ", self.transform),
                                ("Target transform: ", self.target_transform)):
            if transform is not None:
                first, *rest = repr(transform).splitlines()
                lines += [head + first] + [" " * len(head) + line for line in rest]
        return "\n".join(lines)
