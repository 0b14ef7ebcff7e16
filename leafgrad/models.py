"""Ready-made networks, as ``torchvision.models``: the seed's CIFAR-10 network split in two.

``Net1`` and ``Net2`` are PyTorch's CIFAR-10 tutorial network (``Net`` in "Training a
Classifier") cut after the convolutions, as the seed cuts it: ``net2(net1(x))`` is the tutorial's
``net(x)``, and the two halves can be trained by one optimizer or frozen one at a time.
"""
from __future__ import annotations

from leafgrad._tensor import Tensor
from leafgrad.nn import functional as F
from leafgrad.nn.module import Module
from leafgrad.nn.modules.conv import Conv2d
from leafgrad.nn.modules.linear import Linear
from leafgrad.nn.modules.pooling import MaxPool2d

__all__ = ["Net1", "Net2"]


class Net1(Module):
    """The convolutional half: 3x32x32 images to 400 features.

    ``pool(relu(conv1(x)))`` gives 6x14x14, ``pool(relu(conv2(.)))`` 16x5x5, flattened to 400.

    Example::

        >>> Net1()(leafgrad.zeros(2, 3, 32, 32)).shape
        torch.Size([2, 400])
    """

    def __init__(self) -> None:
        super().__init__()
        self.conv1 = Conv2d(3, 6, 5)
        self.pool = MaxPool2d(2, 2)
        self.conv2 = Conv2d(6, 16, 5)

    def forward(self, x: Tensor) -> Tensor:
        x = self.pool(F.relu(self.conv1(x)))
        x = self.pool(F.relu(self.conv2(x)))
        return x.flatten(1)


class Net2(Module):
    """The fully connected half: 400 features to 10 class scores (logits).

    Example::

        >>> Net2()(leafgrad.zeros(2, 400)).shape
        torch.Size([2, 10])
    """

    def __init__(self) -> None:
        super().__init__()
        self.fc1 = Linear(16 * 5 * 5, 120)
        self.fc2 = Linear(120, 84)
        self.fc3 = Linear(84, 10)

    def forward(self, x: Tensor) -> Tensor:
        x = F.relu(self.fc1(x))
        x = F.relu(self.fc2(x))
        return self.fc3(x)
