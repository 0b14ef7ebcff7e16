"""leafgrad.datasets: Digits, CIFAR10 read from files in the official format (built here),
the restricted unpickler, FakeData and the transforms."""
from __future__ import annotations

import os
import pickle
import sys

import numpy as np
import pytest

import leafgrad
from cifar_files import LABEL_NAMES, make_batch, python2_pickle
from leafgrad.datasets import CIFAR10, Digits, FakeData, VisionDataset, transforms
from leafgrad.datasets.cifar import restricted_loads
from leafgrad.datasets.digits import _load, resize_bilinear
from leafgrad.utils.data import DataLoader


# -- Digits ----------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def digits():
    pytest.importorskip("sklearn")
    return Digits(train=True), Digits(train=False)


def test_digits_split_shapes_and_values(digits):
    train, test = digits
    assert len(train) + len(test) == 1797 and len(test) == pytest.approx(0.2 * 1797, abs=10)
    image, label = train[0]
    assert isinstance(image, leafgrad.Tensor) and image.shape == (1, 8, 8)
    assert image.dtype is leafgrad.float32 and isinstance(label, int)
    assert train.data.dtype == np.float32 and train.data.shape == (len(train), 1, 8, 8)
    assert train.data.min() == 0.0 and train.data.max() == 1.0
    assert set(train.targets) == set(range(10)) == set(test.targets)
    assert train.classes == [str(d) for d in range(10)]


def test_digits_split_is_disjoint_stratified_and_deterministic(digits):
    train, test = digits
    images, labels = _load()
    # every image is in exactly one split: compare the raw pixel rows
    rows = {row.tobytes() for row in images.reshape(len(images), -1)}
    train_rows = [row.tobytes() for row in train.data.reshape(len(train), -1)]
    test_rows = [row.tobytes() for row in test.data.reshape(len(test), -1)]
    assert set(train_rows) | set(test_rows) == rows
    counts = np.bincount(test.targets, minlength=10)
    assert counts.min() >= 33 and counts.max() <= 38  # each class keeps its 20%
    again = Digits(train=False)
    assert np.array_equal(again.data, test.data) and again.targets == test.targets
    other = Digits(train=False, seed=1)
    assert not np.array_equal(other.data, test.data)
    assert len(Digits(train=False, test_fraction=0.5)) == pytest.approx(1797 / 2, abs=10)


def test_digits_resized_for_the_cifar_network(digits):
    big = Digits(train=False, resize_to_cifar=True)
    image, label = big[0]
    assert image.shape == (3, 32, 32) and image.dtype is leafgrad.float32
    channels = image.numpy()
    assert np.array_equal(channels[0], channels[1]) and np.array_equal(channels[0], channels[2])
    assert big.targets == digits[1].targets
    assert 0.0 <= big.data.min() and big.data.max() <= 1.0
    images, labels = next(iter(DataLoader(big, batch_size=16)))
    assert images.shape == (16, 3, 32, 32) and labels.dtype is leafgrad.int64


def test_bilinear_resize_matches_torch_interpolate():
    torch = pytest.importorskip("torch")
    images = np.random.default_rng(0).random((4, 1, 8, 8), dtype=np.float32)
    expected = torch.nn.functional.interpolate(torch.from_numpy(images), size=(32, 32),
                                               mode="bilinear", align_corners=False)
    np.testing.assert_allclose(resize_bilinear(images, 32), expected.numpy(), atol=1e-6)
    wide = np.random.default_rng(1).random((2, 5, 7), dtype=np.float32)
    expected = torch.nn.functional.interpolate(torch.from_numpy(wide)[None], size=(12, 12),
                                               mode="bilinear", align_corners=False)[0]
    np.testing.assert_allclose(resize_bilinear(wide, 12), expected.numpy(), atol=1e-6)


def test_digits_transforms(digits):
    data = Digits(train=False, transform=transforms.Normalize((0.5,), (0.5,)),
                  target_transform=lambda label: label + 100)
    image, label = data[0]
    raw_image, raw_label = digits[1][0]
    assert label == raw_label + 100
    np.testing.assert_allclose(image.numpy(), (raw_image.numpy() - 0.5) / 0.5)
    with pytest.raises(ValueError, match="test_fraction must be between 0 and 1"):
        Digits(test_fraction=1.0)


def test_digits_repr(digits):
    assert repr(digits[1]) == ("Dataset Digits\n    Number of datapoints: 359\n    Split: Test\n"
                               "    Image shape: (1, 8, 8)")


def test_digits_without_scikit_learn_says_what_to_install(monkeypatch):
    _load.cache_clear()
    monkeypatch.setitem(sys.modules, "sklearn.datasets", None)  # makes the import fail
    try:
        with pytest.raises(ImportError, match=r"pip install leafgrad\[data\]"):
            Digits()
    finally:
        _load.cache_clear()


# -- CIFAR-10 in the official python format --------------------------------------------------
@pytest.fixture
def cifar_root(tmp_path):
    """A CIFAR-10 folder with 5 training batches of 3 images and a test batch of 4."""
    folder = tmp_path / "cifar-10-batches-py"
    folder.mkdir()
    batches = {f"data_batch_{i}": make_batch(i, 3) for i in range(1, 6)}
    batches["test_batch"] = make_batch(6, 4)
    for name, batch in batches.items():
        (folder / name).write_bytes(python2_pickle(batch))
    (folder / "batches.meta").write_bytes(python2_pickle(
        {b"num_cases_per_batch": 3, b"label_names": LABEL_NAMES, b"num_vis": 3072}))
    return tmp_path, batches


def test_the_test_files_have_the_official_layout(cifar_root):
    root, _ = cifar_root
    data = (root / "cifar-10-batches-py" / "data_batch_1").read_bytes()
    assert data[:2] == b"\x80\x02" and b"numpy.core.multiarray\n_reconstruct" in data
    assert b"U\x04data" in data  # the key b'data' as a Python 2 short string
    assert pickle.loads(data, encoding="bytes")[b"data"].shape == (3, 3072)


def test_cifar10_reads_train_and_test_batches(cifar_root):
    root, batches = cifar_root
    train = CIFAR10(root, train=True)
    test = CIFAR10(str(root), train=False)
    assert len(train) == 15 and len(test) == 4
    assert train.classes[6] == "frog" and train.class_to_idx["truck"] == 9
    assert train.targets == sum((batches[f"data_batch_{i}"][b"labels"] for i in range(1, 6)), [])
    image, label = test[2]
    raw = batches["test_batch"][b"data"][2]
    assert image.shape == (32, 32, 3) and image.dtype == np.uint8
    assert label == batches["test_batch"][b"labels"][2]
    # row layout: 1024 red values, then green, then blue, each row-major over 32 x 32
    assert image[0, 1, 0] == raw[1] and image[1, 0, 1] == raw[1024 + 32]
    assert image[31, 31, 2] == raw[3071]
    image[0, 0, 0] ^= 1
    assert test.data[2, 0, 0, 0] == raw[0]  # samples are copies


def test_cifar10_accepts_the_batches_folder_and_python3_pickles(tmp_path):
    batch = make_batch(1, 2)
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        (tmp_path / name).write_bytes(pickle.dumps(batch, protocol=2))
    (tmp_path / "batches.meta").write_bytes(pickle.dumps({b"label_names": LABEL_NAMES},
                                                         protocol=2))
    data = CIFAR10(tmp_path, train=False)
    assert len(data) == 2 and np.array_equal(data.data[0].transpose(2, 0, 1).reshape(-1),
                                             batch[b"data"][0])


def test_cifar10_with_transforms_and_loader(cifar_root):
    root, batches = cifar_root
    data = CIFAR10(root, train=False, transform=transforms.ToTensor(),
                   target_transform=lambda label: -label)
    image, label = data[0]
    assert image.shape == (3, 32, 32) and image.dtype is leafgrad.float32
    expected = batches["test_batch"][b"data"][0].reshape(3, 32, 32) / 255.0
    np.testing.assert_allclose(image.numpy(), expected, rtol=1e-6)
    assert label == -batches["test_batch"][b"labels"][0]
    images, labels = next(iter(DataLoader(data, batch_size=4)))
    assert images.shape == (4, 3, 32, 32) and labels.shape == (4,)


def test_cifar10_missing_folder_says_where_to_get_it(tmp_path):
    with pytest.raises(FileNotFoundError) as error:
        CIFAR10(tmp_path / "nowhere")
    message = str(error.value)
    assert os.path.join(str(tmp_path / "nowhere"), "cifar-10-batches-py") in message
    assert "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz" in message
    assert "data_batch_1" in message


def test_cifar10_refuses_malformed_batches(cifar_root):
    root, batches = cifar_root
    folder = root / "cifar-10-batches-py"
    broken = {**batches["test_batch"], b"data": np.zeros((4, 100), np.uint8)}
    (folder / "test_batch").write_bytes(python2_pickle(broken))
    with pytest.raises(ValueError, match=r"b'data' must be a uint8 array of shape \(N, 3072\)"):
        CIFAR10(root, train=False)
    (folder / "test_batch").write_bytes(python2_pickle(batches["test_batch"])[:-50])
    with pytest.raises(ValueError, match="is not a CIFAR-10 python batch"):
        CIFAR10(root, train=False)
    (folder / "test_batch").write_bytes(python2_pickle({**batches["test_batch"],
                                                        b"labels": [11] * 4}))
    with pytest.raises(ValueError, match="b'labels' must be a list of 4 ints in 0..9"):
        CIFAR10(root, train=False)


class RunsCode:
    """Unpickling this with a plain unpickler creates the marker file (code execution)."""

    def __init__(self, marker: str) -> None:
        self.marker = marker

    def __reduce__(self):
        return (open, (self.marker, "w"))


def test_restricted_unpickler_never_runs_code(cifar_root, tmp_path):
    root, batches = cifar_root
    marker = tmp_path / "code-ran"
    evil = pickle.dumps({b"data": RunsCode(str(marker)), b"labels": [0]}, protocol=2)
    with pytest.raises(pickle.UnpicklingError,
                       match="refusing to load global '(io|builtins).open'"):
        restricted_loads(evil)
    (root / "cifar-10-batches-py" / "test_batch").write_bytes(evil)
    with pytest.raises(ValueError, match="refusing to load global"):
        CIFAR10(root, train=False)
    assert not marker.exists()
    pickle.loads(evil)  # the control: a plain unpickler does run it
    assert marker.exists()


@pytest.mark.parametrize("payload", [
    pickle.dumps(np.array([1, 2], dtype=object), protocol=2),  # object arrays run code
    pickle.dumps(os.system, protocol=2),
    b"\x80\x02cposix\nsystem\nq\x00X\x04\x00\x00\x00trueq\x01\x85q\x02Rq\x03.",
])
def test_restricted_unpickler_refuses_other_globals(payload):
    with pytest.raises(pickle.UnpicklingError, match="refusing"):
        restricted_loads(payload)


def test_restricted_unpickler_reads_plain_data():
    data = {b"a": [1, 2.5, None, True, (b"x", "y")], b"array": np.arange(6, dtype=np.int16)
            .reshape(2, 3), b"big": np.arange(4, dtype=">f8")}
    loaded = restricted_loads(pickle.dumps(data, protocol=2))
    assert loaded[b"a"] == data[b"a"]
    assert np.array_equal(loaded[b"array"], data[b"array"]) and loaded[b"array"].dtype == np.int16
    assert np.array_equal(loaded[b"big"], data[b"big"]) and loaded[b"big"].dtype.isnative
    assert np.array_equal(restricted_loads(pickle.dumps(data[b"array"].T, protocol=2)),
                          data[b"array"].T)


# -- FakeData --------------------------------------------------------------------------------
def test_fake_data_is_deterministic_per_index():
    data = FakeData(size=5, image_size=(3, 8, 6), num_classes=4)
    image, label = data[2]
    assert image.shape == (8, 6, 3) and image.dtype == np.uint8 and 0 <= label < 4
    again = FakeData(size=5, image_size=(3, 8, 6), num_classes=4)[2]
    assert np.array_equal(again[0], image) and again[1] == label
    assert not np.array_equal(data[3][0], image)
    shifted = FakeData(size=5, image_size=(3, 8, 6), num_classes=4, random_offset=1)
    assert np.array_equal(shifted[1][0], image)
    assert np.array_equal(data[-1][0], data[4][0]) and len(data) == 5
    with pytest.raises(IndexError, match="out of range"):
        data[5]
    labels = {FakeData(size=200, image_size=(1, 2, 2), num_classes=3)[i][1] for i in range(200)}
    assert labels == {0, 1, 2}


def test_the_data_sets_share_torchvisions_base_and_repr(cifar_root):
    assert all(issubclass(cls, VisionDataset) for cls in (CIFAR10, Digits, FakeData))
    root, _ = cifar_root
    assert repr(CIFAR10(root, train=False)) == (
        f"Dataset CIFAR10\n    Number of datapoints: 4\n    Root location: {root}\n"
        f"    Split: Test")
    # torchvision's StandardTransform block, whose later lines are not indented
    fake = FakeData(size=3, transform=transforms.Compose([transforms.ToTensor()]),
                    target_transform=str)
    assert repr(fake) == ("Dataset FakeData\n    Number of datapoints: 3\n    StandardTransform\n"
                          "Transform: Compose(\n               ToTensor()\n           )\n"
                          "Target transform: <class 'str'>")
    fake.transform = None  # torchvision's data sets read the transforms at each access
    assert fake[0][1] == str(FakeData(size=3)[0][1]) and isinstance(fake[0][0], np.ndarray)
    assert repr(fake).endswith("StandardTransform\nTarget transform: <class 'str'>")


def test_vision_dataset_subclasses_define_their_samples():
    class Squares(VisionDataset):
        data = [0, 1, 4]

        def _sample(self, index):
            return self.data[index], index

        def extra_repr(self):
            return "Kind: squares"

    squares = Squares(root="here", transform=str, target_transform=lambda i: -i)
    assert squares[2] == ("4", -2) and len(squares) == 3
    assert repr(squares).startswith("Dataset Squares\n    Number of datapoints: 3\n    Root "
                                    "location: here\n    Kind: squares\n    StandardTransform")
    with pytest.raises(NotImplementedError, match="must define _sample"):
        VisionDataset()[0]


def test_fake_data_with_to_tensor():
    data = FakeData(size=4, image_size=(3, 32, 32), transform=transforms.ToTensor(),
                    target_transform=str)
    images, labels = next(iter(DataLoader(data, batch_size=4)))
    assert images.shape == (4, 3, 32, 32) and images.dtype is leafgrad.float32
    assert isinstance(labels, tuple) and isinstance(labels[0], str)  # as torch: zip's tuples
    with pytest.raises(ValueError, match="image_size must be"):
        FakeData(image_size=(32, 32))


# -- transforms ------------------------------------------------------------------------------
def test_to_tensor():
    image = np.arange(24, dtype=np.uint8).reshape(2, 4, 3)
    out = transforms.ToTensor()(image)
    assert out.shape == (3, 2, 4) and out.dtype is leafgrad.float32
    np.testing.assert_allclose(out.numpy(), image.transpose(2, 0, 1) / 255.0, rtol=1e-6)
    grey = transforms.ToTensor()(np.full((2, 2), 255, np.uint8))
    assert grey.shape == (1, 2, 2) and grey.numpy().max() == 1.0
    floats = transforms.ToTensor()(np.full((2, 2, 1), 3.0))
    assert floats.dtype is leafgrad.float64 and floats.numpy().max() == 3.0  # not rescaled
    with pytest.raises(TypeError, match="pic should be PIL Image or ndarray. Got .*Tensor.*: "
                                        "the image is a tensor already.*leave ToTensor out"):
        transforms.ToTensor()(leafgrad.zeros(3, 2, 2))


def test_normalize():
    image = leafgrad.arange(12.0).reshape(3, 2, 2)
    out = transforms.Normalize((1.0, 2.0, 3.0), (2.0, 4.0, 0.5))(image)
    expected = (image.numpy() - np.array([1.0, 2.0, 3.0])[:, None, None]) / \
        np.array([2.0, 4.0, 0.5])[:, None, None]
    np.testing.assert_allclose(out.numpy(), expected, rtol=1e-6)
    assert out.dtype is leafgrad.float32
    batch = leafgrad.ones(2, 3, 2, 2, requires_grad=True)
    normalized = transforms.Normalize((0.5,) * 3, (0.25,) * 3)(batch)
    normalized.sum().backward()
    np.testing.assert_allclose(batch.grad.numpy(), 4.0)  # gradients flow through
    in_place = leafgrad.ones(1, 2, 2)
    assert transforms.Normalize((1.0,), (1.0,), inplace=True)(in_place) is in_place
    assert in_place.numpy().max() == 0.0


@pytest.mark.parametrize("image, error, message", [
    (leafgrad.zeros(1, 2, 2, dtype=leafgrad.uint8), TypeError, "should be a float tensor"),
    (leafgrad.zeros(2, 2), ValueError, r"size \(..., C, H, W\)"),
    (np.zeros((1, 2, 2)), TypeError, "should be a torch tensor"),
])
def test_normalize_errors(image, error, message):
    with pytest.raises(error, match=message):
        transforms.Normalize((0.5,), (0.5,))(image)


def test_normalize_refuses_zero_std():
    with pytest.raises(ValueError, match="std evaluated to zero"):
        transforms.Normalize((0.5,), (0.0,))(leafgrad.zeros(1, 2, 2))


def test_random_crop_is_a_seeded_window_of_the_padded_image():
    image = np.arange(8 * 8 * 3, dtype=np.uint8).reshape(8, 8, 3) + 1
    crop = transforms.RandomCrop(8, padding=2)
    padded = np.pad(image, ((2, 2), (2, 2), (0, 0)))
    leafgrad.manual_seed(0)
    outputs = [crop(image) for _ in range(20)]
    windows = {(top, left) for top in range(5) for left in range(5)
               if any(np.array_equal(out, padded[top:top + 8, left:left + 8]) for out in outputs)}
    assert all(out.shape == (8, 8, 3) for out in outputs)
    assert all(any(np.array_equal(out, padded[t:t + 8, l:l + 8]) for t in range(5)
                   for l in range(5)) for out in outputs)  # noqa: E741
    assert len(windows) > 3  # the window moves
    leafgrad.manual_seed(0)
    assert all(np.array_equal(a, crop(image)) for a in outputs)  # and is reproducible


def test_random_crop_on_tensors_and_padding_options():
    image = leafgrad.arange(2 * 4 * 5.0).reshape(2, 4, 5)
    leafgrad.manual_seed(1)
    out = transforms.RandomCrop((3, 2))(image)
    assert out.shape == (2, 3, 2)
    found = [(t, l) for t in range(2) for l in range(4)  # noqa: E741
             if np.array_equal(out.numpy(), image.numpy()[:, t:t + 3, l:l + 2])]
    assert found
    whole = transforms.RandomCrop((6, 9), padding=(2, 1))(image)  # left/right 2, top/bottom 1
    assert whole.shape == (2, 6, 9) and whole.numpy()[:, 1:5, 2:7].tolist() == image.tolist()
    sides = transforms.RandomCrop((4 + 2 + 4, 5 + 1 + 3), padding=(1, 2, 3, 4), fill=7)(image)
    assert sides.numpy()[0, 0, 0] == 7 and sides.numpy()[:, 2:6, 1:6].tolist() == image.tolist()
    edge = transforms.RandomCrop((4, 7), padding=(1, 0), padding_mode="edge")(image)
    assert edge.numpy()[0, :, 0].tolist() == image.numpy()[0, :, 0].tolist()
    reflect = transforms.RandomCrop((4, 7), padding=(1, 0), padding_mode="reflect")(image)
    assert reflect.numpy()[0, :, 0].tolist() == image.numpy()[0, :, 1].tolist()
    needed = transforms.RandomCrop(6, pad_if_needed=True)(image)
    assert needed.shape == (2, 6, 6)
    with pytest.raises(ValueError, match=r"Required crop size \(5, 5\) is larger than input"):
        transforms.RandomCrop(5)(image)
    with pytest.raises(ValueError, match="Padding mode should be either constant, edge"):
        transforms.RandomCrop(5, padding=1, padding_mode="wrap")
    with pytest.raises(ValueError, match="Padding must be an int or a 1, 2, or 4 element"):
        transforms.RandomCrop(5, padding=(1, 2, 3))
    with pytest.raises(ValueError, match="Please provide only two dimensions"):
        transforms.RandomCrop((1, 2, 3))


def test_random_horizontal_flip():
    image = np.arange(12, dtype=np.uint8).reshape(2, 2, 3)
    assert np.array_equal(transforms.RandomHorizontalFlip(p=1.0)(image), image[:, ::-1])
    assert transforms.RandomHorizontalFlip(p=0.0)(image) is image
    tensor = leafgrad.arange(6.0).reshape(1, 2, 3)
    assert transforms.RandomHorizontalFlip(p=1.0)(tensor).tolist() == [[[2, 1, 0], [5, 4, 3]]]
    flip = transforms.RandomHorizontalFlip()
    leafgrad.manual_seed(3)
    flipped = [bool(np.array_equal(flip(image), image[:, ::-1])) for _ in range(40)]
    assert 5 < sum(flipped) < 35
    leafgrad.manual_seed(3)
    assert flipped == [bool(np.array_equal(flip(image), image[:, ::-1])) for _ in range(40)]


@pytest.mark.parametrize("padding_mode", ["constant", "edge", "reflect", "symmetric"])
def test_crops_and_flips_of_tensors_keep_the_graph(padding_mode):
    """On a tensor the padding, crop and flip are tensor ops: the same pixels as on the array
    image, and gradients flow back to the tensor."""
    array = np.arange(2 * 4 * 5, dtype=np.float64).reshape(4, 5, 2)  # H x W x C
    image = leafgrad.tensor(array.transpose(2, 0, 1).copy(), requires_grad=True)
    crop = transforms.RandomCrop((5, 7), padding=(2, 1, 1, 2), fill=-1.0,
                                 padding_mode=padding_mode)
    flip = transforms.RandomHorizontalFlip(p=1.0)
    leafgrad.manual_seed(5)
    from_array = flip(crop(array))
    leafgrad.manual_seed(5)
    out = flip(crop(image))
    assert out.requires_grad and out.grad_fn is not None
    np.testing.assert_array_equal(out.detach().numpy(), from_array.transpose(2, 0, 1))
    out.sum().backward()
    # each pixel's gradient counts the copies of it in the crop: 1 inside, more where padding
    # repeats it, and at least 0 (constant padding copies none)
    assert image.grad.shape == image.shape and image.grad.sum().item() == \
        float((out.detach().numpy() != -1.0).sum() if padding_mode == "constant" else out.numel())


def test_compose_applies_in_order():
    pipeline = transforms.Compose([transforms.RandomHorizontalFlip(p=1.0),
                                   transforms.ToTensor(),
                                   transforms.Normalize((0.0,), (0.5,))])
    image = np.array([[[0], [255]]], dtype=np.uint8)  # 1 x 2 x 1
    assert pipeline(image).tolist() == [[[2.0, 0.0]]]
    assert "RandomHorizontalFlip(p=1.0)" in repr(pipeline)
