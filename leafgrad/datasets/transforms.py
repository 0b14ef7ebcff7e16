"""Image transforms with torchvision's names and behaviour.

Images are either NumPy arrays of shape H x W x C (or H x W), which play the part of
torchvision's PIL images (what :class:`~leafgrad.datasets.CIFAR10` and
:class:`~leafgrad.datasets.FakeData` return), or tensors of shape (..., C, H, W) (what
:class:`~leafgrad.datasets.Digits` returns). On tensors the crops, flips and padding are tensor
ops, so a tensor that requires grad keeps its graph through them. Random transforms draw from
leafgrad's default generator: ``leafgrad.manual_seed`` makes them reproducible (and DataLoader
workers seed it per worker, as torch does).
"""
from __future__ import annotations

import numbers
from collections.abc import Sequence
from typing import Any, Callable

import numpy as np

from leafgrad._backend import is_array
from leafgrad._factories import as_tensor, rand, randint, tensor
from leafgrad._tensor import Tensor
from leafgrad.ops.shape import pad

__all__ = ["Compose", "ToTensor", "Normalize", "RandomCrop", "RandomHorizontalFlip"]

_PADDING_MODES = {"constant": "constant", "edge": "edge", "reflect": "reflect",
                  "symmetric": "symmetric"}  # torchvision's names, which NumPy shares


class Compose:
    """Apply ``transforms`` one after the other.

    Example::

        >>> transform = Compose([RandomCrop(32, padding=4), RandomHorizontalFlip(),
        ...                      ToTensor(), Normalize((0.5,) * 3, (0.25,) * 3)])
    """

    def __init__(self, transforms: Sequence[Callable]) -> None:
        self.transforms = list(transforms)

    def __call__(self, image: Any) -> Any:
        for transform in self.transforms:
            image = transform(image)
        return image

    def __repr__(self) -> str:
        lines = "".join(f"\n    {transform}" for transform in self.transforms)
        return f"{type(self).__name__}({lines}\n)"


class ToTensor:
    """An H x W x C (or H x W) NumPy image to a C x H x W tensor: uint8 values are scaled to
    float32 in [0, 1]; other dtypes keep their values, as torchvision does. A tensor is refused
    with a TypeError, as torchvision refuses one: leave ToTensor out for datasets that return
    tensors already (Digits)."""

    def __call__(self, pic: np.ndarray) -> Tensor:
        if isinstance(pic, Tensor):
            raise TypeError(f"pic should be PIL Image or ndarray. Got {type(pic)}: the image is "
                            f"a tensor already (as Digits returns them), so leave ToTensor out "
                            f"of the transforms")
        if not is_array(pic):
            raise TypeError(f"pic should be PIL Image or ndarray. Got {type(pic)}")
        if pic.ndim not in (2, 3):
            raise ValueError(f"pic should be 2/3 dimensional. Got {pic.ndim} dimensions.")
        if pic.ndim == 2:
            pic = pic[:, :, None]
        chw = np.ascontiguousarray(pic.transpose(2, 0, 1))
        if chw.dtype == np.uint8:
            return tensor(chw.astype(np.float32) / np.float32(255))
        return tensor(chw)

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


class Normalize:
    """``(image - mean) / std`` per channel of a (..., C, H, W) float tensor; gradients flow
    through it.

    Example::

        >>> Normalize((0.5,), (0.5,))(leafgrad.ones(1, 2, 2))[0, 0, 0]
        tensor(1.)
    """

    def __init__(self, mean: Sequence[float], std: Sequence[float],
                 inplace: bool = False) -> None:
        self.mean = mean
        self.std = std
        self.inplace = inplace

    def __call__(self, image: Tensor) -> Tensor:
        if not isinstance(image, Tensor):
            raise TypeError(f"Input tensor should be a torch tensor. Got {type(image)}.")
        if not image.is_floating_point():
            raise TypeError(f"Input tensor should be a float tensor. Got {image.dtype}.")
        if image.ndim < 3:
            raise ValueError(f"Expected tensor to be a tensor image of size (..., C, H, W). Got "
                             f"tensor.size() = {image.size()}.")
        mean = as_tensor(self.mean, dtype=image.dtype)
        std = as_tensor(self.std, dtype=image.dtype)
        if (std == 0).any():
            raise ValueError(f"std evaluated to zero after conversion to {image.dtype}, leading "
                             f"to division by zero.")
        mean, std = mean.reshape(-1, 1, 1), std.reshape(-1, 1, 1)
        if self.inplace:
            return image.sub_(mean).div_(std)
        return (image - mean) / std

    def __repr__(self) -> str:
        return f"{type(self).__name__}(mean={self.mean}, std={self.std})"


def _image_size(image) -> tuple[int, int]:
    """(height, width) of an H x W x C array or a (..., H, W) tensor."""
    if is_array(image):
        return image.shape[0], image.shape[1]
    if isinstance(image, Tensor):
        return image.shape[-2], image.shape[-1]
    raise TypeError(f"img should be a NumPy array (H x W x C) or a tensor (..., H, W). Got "
                    f"{type(image)}")


def _pad(image, left: int, top: int, right: int, bottom: int, fill, mode: str):
    if isinstance(image, Tensor):
        if mode == "constant":
            return pad(image, (left, right, top, bottom), value=fill)
        # the other modes repeat rows and columns: pick them by index, which keeps the graph
        height, width = _image_size(image)
        rows = np.pad(np.arange(height), (top, bottom), mode=_PADDING_MODES[mode])
        columns = np.pad(np.arange(width), (left, right), mode=_PADDING_MODES[mode])
        return image.index_select(-2, tensor(rows)).index_select(-1, tensor(columns))
    widths = [(0, 0)] * image.ndim
    widths[0], widths[1] = (top, bottom), (left, right)
    if mode == "constant":
        return np.pad(image, widths, mode="constant", constant_values=fill)
    return np.pad(image, widths, mode=_PADDING_MODES[mode])


class RandomCrop:
    """Crop a random ``size`` window, after padding the borders by ``padding`` (an int for
    all sides, (left/right, top/bottom) or (left, top, right, bottom)). On a tensor the
    padding and the crop are tensor ops: gradients flow back through them.

    Example::

        >>> leafgrad.manual_seed(0)
        >>> RandomCrop(32, padding=4)(numpy.zeros((32, 32, 3), numpy.uint8)).shape
        (32, 32, 3)
    """

    def __init__(self, size: int | Sequence[int], padding: int | Sequence[int] | None = None,
                 pad_if_needed: bool = False, fill: float = 0,
                 padding_mode: str = "constant") -> None:
        if isinstance(size, numbers.Number):
            size = (int(size), int(size))
        elif isinstance(size, Sequence) and len(size) == 1:
            size = (size[0], size[0])
        if len(size) != 2:
            raise ValueError("Please provide only two dimensions (h, w) for size.")
        if padding is not None and not isinstance(padding, (numbers.Number, Sequence)):
            raise TypeError("Got inappropriate padding arg")
        if isinstance(padding, Sequence) and len(padding) not in (1, 2, 4):
            raise ValueError(f"Padding must be an int or a 1, 2, or 4 element tuple, not a "
                             f"{len(padding)} element tuple")
        if padding_mode not in _PADDING_MODES:
            raise ValueError("Padding mode should be either constant, edge, reflect or "
                             "symmetric")
        self.size = tuple(size)
        self.padding = padding
        self.pad_if_needed = pad_if_needed
        self.fill = fill
        self.padding_mode = padding_mode

    @staticmethod
    def get_params(image, output_size: tuple[int, int]) -> tuple[int, int, int, int]:
        """(top, left, height, width) of a random crop of ``output_size``."""
        height, width = _image_size(image)
        crop_height, crop_width = output_size
        if height < crop_height or width < crop_width:
            raise ValueError(f"Required crop size {(crop_height, crop_width)} is larger than "
                             f"input image size {(height, width)}")
        if (height, width) == (crop_height, crop_width):
            return 0, 0, height, width
        top = int(randint(0, height - crop_height + 1, size=(1,)).item())
        left = int(randint(0, width - crop_width + 1, size=(1,)).item())
        return top, left, crop_height, crop_width

    def __call__(self, image):
        if self.padding is not None:
            padding = self.padding
            if isinstance(padding, numbers.Number):
                padding = (int(padding),) * 4
            elif len(padding) == 1:
                padding = (padding[0],) * 4
            elif len(padding) == 2:
                padding = (padding[0], padding[1], padding[0], padding[1])
            image = _pad(image, *padding, fill=self.fill, mode=self.padding_mode)
        height, width = _image_size(image)
        if self.pad_if_needed and width < self.size[1]:
            extra = self.size[1] - width
            image = _pad(image, extra, 0, extra, 0, fill=self.fill, mode=self.padding_mode)
        if self.pad_if_needed and height < self.size[0]:
            extra = self.size[0] - height
            image = _pad(image, 0, extra, 0, extra, fill=self.fill, mode=self.padding_mode)
        top, left, crop_height, crop_width = self.get_params(image, self.size)
        if is_array(image):
            return image[top:top + crop_height, left:left + crop_width].copy()
        return image[..., top:top + crop_height, left:left + crop_width]

    def __repr__(self) -> str:
        return f"{type(self).__name__}(size={self.size}, padding={self.padding})"


class RandomHorizontalFlip:
    """Mirror the image left to right with probability ``p`` (on a tensor, with ``flip``, which
    keeps the graph)."""

    def __init__(self, p: float = 0.5) -> None:
        self.p = p

    def __call__(self, image):
        _image_size(image)  # the type check
        if rand(1).item() < self.p:
            if isinstance(image, Tensor):
                return image.flip(-1)
            return np.ascontiguousarray(image[:, ::-1])
        return image

    def __repr__(self) -> str:
        return f"{type(self).__name__}(p={self.p})"
