"""leafgrad.serialization: round trips, atomic writes under SIGKILL, and refusal of damaged or
edited files without running any code."""
from __future__ import annotations

import collections
import hashlib
import io
import json
import math
import os
import pathlib
import pickle
import random
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

import leafgrad
from leafgrad.serialization import load, save

pytest.importorskip("safetensors")
from safetensors.numpy import save as safetensors_save  # noqa: E402


def round_trip(obj, tmp_path, name="checkpoint.safetensors"):
    path = tmp_path / name
    save(obj, path)
    return load(path)


def assert_same(loaded, original):
    """Equal values and identical types, all the way down."""
    assert type(loaded) is type(original), (type(loaded), type(original))
    if isinstance(original, leafgrad.Tensor):
        assert loaded.dtype is original.dtype and loaded.shape == original.shape
        assert loaded.requires_grad == original.requires_grad and loaded.is_leaf
        assert loaded.grad is None
        np.testing.assert_array_equal(loaded.detach().numpy(), original.detach().numpy())
    elif isinstance(original, np.ndarray):
        assert loaded.dtype == original.dtype.newbyteorder("=") and loaded.shape == original.shape
        np.testing.assert_array_equal(loaded, original)
        assert loaded.flags.writeable
    elif isinstance(original, np.generic):
        assert loaded == original
    elif isinstance(original, dict):
        assert list(loaded) == list(original)  # the same keys, of the same types, in order
        for key_loaded, key in zip(loaded, original):
            assert type(key_loaded) is type(key)
            assert_same(loaded[key], original[key])
    elif isinstance(original, (list, tuple)):
        assert len(loaded) == len(original)
        for item_loaded, item in zip(loaded, original):
            assert_same(item_loaded, item)
    elif isinstance(original, float) and math.isnan(original):
        assert math.isnan(loaded)
    else:
        assert loaded == original
        if isinstance(original, float):
            assert math.copysign(1, loaded) == math.copysign(1, original)


# -- round trips -----------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", ["float32", "float64", "float16", "int64", "int32", "int16",
                                   "int8", "uint8", "bool"])
def test_tensor_dtypes_round_trip(dtype, tmp_path):
    values = np.arange(-3, 9).reshape(3, 4) % 7
    original = leafgrad.tensor(values.astype(dtype))
    assert_same(round_trip(original, tmp_path), original)


@pytest.mark.parametrize("make", [
    lambda: leafgrad.tensor(3.5), lambda: leafgrad.zeros(0, 3), lambda: leafgrad.zeros(2, 0, 4),
    lambda: leafgrad.arange(12.0).reshape(3, 4).t(),  # not contiguous
    lambda: leafgrad.arange(20.0)[::3],
])
def test_tensor_shapes_round_trip(make, tmp_path):
    original = make()
    assert_same(round_trip(original, tmp_path), original)


def test_requires_grad_is_kept_and_grad_is_not(tmp_path):
    leaf = leafgrad.ones(2, 2, requires_grad=True)
    (leaf * 3).sum().backward()
    computed = leaf * 2  # torch saves a non-leaf that requires grad as a leaf that does
    loaded = round_trip({"leaf": leaf, "computed": computed, "plain": leafgrad.ones(1)},
                        tmp_path)
    assert loaded["leaf"].requires_grad and loaded["leaf"].grad is None
    assert loaded["computed"].requires_grad and loaded["computed"].is_leaf
    assert loaded["computed"].tolist() == [[2.0, 2.0], [2.0, 2.0]]
    assert not loaded["plain"].requires_grad


@pytest.mark.parametrize("dtype", ["float16", "float32", "float64", "int8", "int16", "int32",
                                   "int64", "uint8", "uint16", "uint32", "uint64", "bool",
                                   ">f8", ">i4"])
def test_numpy_arrays_round_trip(dtype, tmp_path):
    original = (np.arange(10) % 3).astype(dtype).reshape(2, 5)
    loaded = round_trip({"array": original, "scalar": original.reshape(-1)[1]}, tmp_path)
    assert_same(loaded["array"], original)
    assert loaded["scalar"] == original.reshape(-1)[1]
    assert loaded["scalar"].dtype == original.dtype.newbyteorder("=")


def test_python_values_round_trip(tmp_path):
    original = {
        "int": 3, "big int": 2**80, "negative": -7, "float": 0.1, "negative zero": -0.0,
        "nan": float("nan"), "inf": float("inf"), "-inf": float("-inf"), "true": True,
        "none": None, "text": "ünïcode \n \"quoted\"", "empty list": [], "empty dict": {},
        "empty tuple": (), "tuple": (1, (2.0, "x"), [None]), "list": [1, [2, [3.5]]],
        "size": leafgrad.Size([2, 3]), "dtype": leafgrad.float16, "device": leafgrad.device("cpu"),
    }
    assert_same(round_trip(original, tmp_path), original)


def test_dict_key_types_and_order_round_trip(tmp_path):
    original = {3: "int", "3": "str", 2.5: "float", True: "bool", None: "none",
                (1, "a"): "tuple", -1: {0: {1: [2]}}}
    ordered = collections.OrderedDict([("z", 1), ("a", 2), (0, 3)])
    loaded = round_trip({"plain": original, "ordered": ordered}, tmp_path)
    assert_same(loaded["plain"], original)
    assert_same(loaded["ordered"], ordered)


def test_optimizer_state_round_trips(tmp_path):
    state = {
        "state": {0: {"momentum_buffer": leafgrad.randn(3, 2), "step": leafgrad.tensor(4.0)},
                  1: {"momentum_buffer": None, "exp_avg": leafgrad.zeros(2)}},
        "param_groups": [{"lr": 0.01, "momentum": 0.9, "dampening": 0, "nesterov": False,
                          "weight_decay": 0.0, "maximize": False, "foreach": None,
                          "betas": (0.9, 0.999), "params": [0, 1]}],
    }
    assert_same(round_trip(state, tmp_path), state)


def test_state_dict_of_a_module_round_trips(tmp_path):
    nn = pytest.importorskip("leafgrad.nn")
    if not hasattr(nn, "Linear"):
        pytest.skip("leafgrad.nn.Linear is not available")
    leafgrad.manual_seed(0)
    model = nn.Linear(3, 2)
    state = model.state_dict()
    loaded = round_trip(state, tmp_path)
    assert_same(loaded, state)
    other = nn.Linear(3, 2)
    other.load_state_dict(loaded)
    assert other.weight.tolist() == model.weight.tolist()


def test_parameters_come_back_as_parameters(tmp_path):
    parameter_module = pytest.importorskip("leafgrad.nn.parameter")
    frozen = parameter_module.Parameter(leafgrad.ones(2), requires_grad=False)
    original = {"p": parameter_module.Parameter(leafgrad.zeros(3)), "frozen": frozen}
    assert_same(round_trip(original, tmp_path), original)


def test_a_tensor_saved_twice_loads_as_one_object(tmp_path):
    shared = leafgrad.arange(4.0)
    array = np.arange(3)
    loaded = round_trip({"a": shared, "b": [shared], "x": array, "y": (array,)}, tmp_path)
    assert loaded["a"] is loaded["b"][0] and loaded["x"] is loaded["y"][0]
    assert len(io_arrays(tmp_path / "checkpoint.safetensors")) == 2


def io_arrays(path) -> dict:
    from safetensors.numpy import load_file
    return load_file(str(path))


def test_file_objects_paths_and_load_options(tmp_path):
    buffer = io.BytesIO()
    save({"x": leafgrad.ones(2)}, buffer)
    buffer.seek(0)
    assert load(buffer, map_location="cpu", weights_only=True)["x"].tolist() == [1.0, 1.0]
    save([1, 2], str(tmp_path / "a"))
    assert load(pathlib.Path(tmp_path / "a"), map_location=leafgrad.device("cpu"),
                weights_only=False) == [1, 2]
    assert load(tmp_path / "a", map_location={"cuda:0": "cpu"}) == [1, 2]
    with pytest.raises(RuntimeError, match="device 'cuda' is not available"):
        load(tmp_path / "a", map_location="cuda")
    with pytest.raises(TypeError, match="callable map_location is not supported"):
        load(tmp_path / "a", map_location=lambda storage, location: storage)
    with pytest.raises(FileNotFoundError):
        load(tmp_path / "missing")


@pytest.mark.parametrize("obj, error, message", [
    ({"s": {1, 2}}, TypeError, r"cannot store obj\['s'\] of type builtins.set"),
    ([object()], TypeError, r"cannot store obj\[0\] of type builtins.object"),
    ({"f": lambda: 0}, TypeError, "of type builtins.function"),
    ({"c": np.zeros(2, np.complex64)}, TypeError, "NumPy dtype complex64"),
    ({"o": np.array([None])}, TypeError, "NumPy dtype object"),
    ({frozenset(): 1}, TypeError, "dict keys must be str, int, float, bool, None or tuples"),
    (collections.defaultdict(int), TypeError, "collections.defaultdict"),
])
def test_unsupported_objects_are_refused_when_saving(obj, error, message, tmp_path):
    with pytest.raises(error, match=message):
        save(obj, tmp_path / "x")
    assert not os.listdir(tmp_path)  # nothing written, no temporary file left


def test_self_referencing_structures_are_refused(tmp_path):
    loop = [1]
    loop.append(loop)
    with pytest.raises(ValueError, match="contains itself"):
        save(loop, tmp_path / "x")
    shared = [1, 2]
    assert round_trip([shared, shared], tmp_path) == [[1, 2], [1, 2]]  # shared is not a loop


# -- atomic writes ---------------------------------------------------------------------------
def test_a_failed_save_leaves_the_old_file(tmp_path, monkeypatch):
    path = tmp_path / "checkpoint.safetensors"
    save({"version": 1}, path)
    with pytest.raises(TypeError):
        save({"version": 2, "bad": object()}, path)
    assert load(path) == {"version": 1}

    def crash(*args):
        raise OSError("disk full")
    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(OSError, match="disk full"):
        save({"version": 3}, path)
    monkeypatch.undo()
    assert load(path) == {"version": 1}
    assert os.listdir(tmp_path) == ["checkpoint.safetensors"]  # the temporary file is gone


SAVER = """
import sys
import leafgrad
from leafgrad.serialization import save
path = sys.argv[1]
versions = [{{"version": v, "weights": leafgrad.full((1024, 1024), float(v)),
             "state": {{0: {{"buffer": leafgrad.full((512, 512), -float(v))}}}}}}
            for v in range({count})]
print("ready", flush=True)
v = 0
while True:
    save(versions[v % {count}], path)
    v += 1
"""


def check_checkpoint(path, count: int) -> int:
    """The file loads (never torn) and is one of the versions; returns which."""
    loaded = load(path)
    version = loaded["version"]
    assert version in range(-1, count)
    if version >= 0:
        assert loaded["weights"].shape == (1024, 1024)
        assert loaded["weights"][0, 0].item() == version
        assert loaded["weights"][-1, -1].item() == version
        assert loaded["state"][0]["buffer"][-1, -1].item() == -version
    return version


def spawn_saver(script, path) -> subprocess.Popen:
    """A process saving versions of the checkpoint at ``path`` without pause, once ready."""
    child = subprocess.Popen([sys.executable, str(script), str(path)], stdout=subprocess.PIPE,
                             text=True)
    assert child.stdout.readline().strip() == "ready"
    return child


def start_savers(tmp_path, children: int, count: int) -> list:
    """(process, path) pairs: each process saves over an old file (version -1) in its own
    folder; they are started together so that they load leafgrad in parallel."""
    script = tmp_path / "saver.py"
    script.write_text(SAVER.format(count=count))
    paths = []
    for i in range(children):
        (tmp_path / f"child{i}").mkdir()
        paths.append(tmp_path / f"child{i}" / "checkpoint.safetensors")
        save({"version": -1, "weights": leafgrad.zeros(1), "state": {}}, paths[-1])
    children = [subprocess.Popen([sys.executable, str(script), str(path)],
                                 stdout=subprocess.PIPE, text=True) for path in paths]
    for child in children:
        assert child.stdout.readline().strip() == "ready"
    return list(zip(children, paths))


def kill(child) -> None:
    child.send_signal(signal.SIGKILL)
    child.wait()
    child.stdout.close()


def assert_kills_leave_loadable_checkpoints(folder, count: int, children: int) -> None:
    """Kill ``children`` savers at random moments: each file loads as the old or new save."""
    started = start_savers(folder, children, count)
    rng = random.Random(0)
    seen = set()
    try:
        for child, path in started:
            time.sleep(rng.uniform(0.0, 0.1))
            kill(child)
            seen.add(check_checkpoint(path, count))
    finally:
        for child, _ in started:
            if child.poll() is None:
                kill(child)
    assert seen - {-1}  # the children did replace their files


def test_sigkill_at_random_moments_during_saves(tmp_path):
    assert_kills_leave_loadable_checkpoints(tmp_path, count=3, children=6)


def test_sigkill_while_the_temporary_file_is_being_written(tmp_path, count=3):
    """The kill lands between the temporary file's creation and its rename: the moment a
    non-atomic save would leave half a file."""
    ((child, path),) = start_savers(tmp_path, 1, count)
    try:
        for trial in range(3):
            if trial:
                child = spawn_saver(tmp_path / "saver.py", path)
            deadline = time.monotonic() + 10
            while not any(name.endswith(".tmp") for name in os.listdir(path.parent)):
                assert time.monotonic() < deadline, "save() never wrote a temporary file"
            kill(child)
            check_checkpoint(path, count)
    finally:
        if child.poll() is None:
            kill(child)


@pytest.mark.slow
def test_sigkill_at_random_moments_many_times(tmp_path):
    for round_ in range(5):
        folder = tmp_path / f"round{round_}"
        folder.mkdir()
        assert_kills_leave_loadable_checkpoints(folder, count=3, children=6)


# -- damaged and edited files ----------------------------------------------------------------
@pytest.fixture
def good_file(tmp_path):
    path = tmp_path / "good.safetensors"
    save({"w": leafgrad.arange(6.0).reshape(2, 3), "step": 5, "labels": np.arange(4)}, path)
    return path


def assert_refused(path, *words):
    with pytest.raises(RuntimeError) as error:
        load(path)
    message = str(error.value)
    assert str(path) in message and "not a readable leafgrad checkpoint" in message
    for word in words:
        assert word in message, message


@pytest.mark.parametrize("keep", [0, 3, 8, 20, "header", "data", -1])
def test_truncated_files_are_refused(good_file, keep):
    data = good_file.read_bytes()
    header_length = int.from_bytes(data[:8], "little")
    cut = {"header": 8 + header_length // 2, "data": 8 + header_length + 10}.get(keep, keep)
    good_file.write_bytes(data[:cut])
    assert_refused(good_file)


def test_a_flipped_data_byte_is_detected(good_file):
    data = bytearray(good_file.read_bytes())
    data[-3] ^= 0x40
    good_file.write_bytes(bytes(data))
    assert_refused(good_file, "SHA-256")


def test_damaged_headers_are_refused(good_file):
    data = good_file.read_bytes()
    header_length = int.from_bytes(data[:8], "little")
    header = data[8:8 + header_length]
    good_file.write_bytes(data[:8] + header.replace(b'"F32"', b'"I32"') +
                          data[8 + header_length:])
    assert_refused(good_file, "float32")  # the description and the file disagree
    good_file.write_bytes(data[:8] + b"{" * header_length + data[8 + header_length:])
    assert_refused(good_file, "header is not valid JSON")
    good_file.write_bytes((2**40).to_bytes(8, "little") + data[8:])
    assert_refused(good_file, "truncated")
    good_file.write_bytes(os.urandom(200))
    assert_refused(good_file)


def test_an_edited_description_fails_its_digest(good_file):
    data = good_file.read_bytes()
    good_file.write_bytes(data.replace(b'\\"step\\",5', b'\\"step\\",6'))
    assert data != good_file.read_bytes()
    assert_refused(good_file, "does not match its SHA-256 digest")


def rewrite(path, arrays: dict, description: dict, fix_digest: bool = True) -> None:
    """A file with a hand-made description (and a matching digest, so that the checks behind
    the digest are reached)."""
    text = json.dumps(description)
    metadata = {"leafgrad": text,
                "leafgrad.sha256": hashlib.sha256(text.encode()).hexdigest() if fix_digest
                else "0" * 64}
    path.write_bytes(safetensors_save(arrays, metadata=metadata))


def describe(root) -> dict:
    return {"format": "leafgrad.checkpoint", "version": 1, "root": root}


def tensor_node(name="0", dtype="float32", shape=(2,), array=None, **extra) -> dict:
    array = np.zeros(shape, dtype) if array is None else array
    digest = hashlib.sha256(array.reshape(-1).view(np.uint8)).hexdigest()
    return {"__type__": "tensor", "name": name, "dtype": dtype, "shape": list(shape),
            "sha256": digest, "requires_grad": False, **extra}


@pytest.mark.parametrize("arrays, root, words", [
    ({"0": np.zeros(2, np.float32)}, tensor_node(name="7"), ["named '7' is missing"]),
    ({"0": np.zeros(2, np.float32)}, tensor_node(dtype="float64"), ["dtype 'float64'"]),
    ({"0": np.zeros(2, np.float32)}, tensor_node(shape=(1, 2)), ["shape [1, 2]"]),
    ({"0": np.zeros(2, np.float32), "1": np.zeros(1)}, tensor_node(), ["never uses: ['1']"]),
    ({"0": np.zeros(2, np.uint16)}, tensor_node(dtype="uint16"), ["cannot have dtype uint16"]),
    ({"0": np.zeros(2, np.int64)}, tensor_node(dtype="int64", requires_grad=True),
     ["bad requires_grad"]),
    ({"0": np.zeros(2, np.float32)}, [tensor_node(), tensor_node(shape=(2,), requires_grad=True)],
     ["described twice"]),
    ({}, {"__type__": "pickle", "data": "..."}, ["unknown entry type 'pickle'"]),
    ({}, {"__type__": "dict", "items": [[[1], 2]]}, ["unhashable dict key"]),
    ({}, {"__type__": "dict", "items": [[1]]}, ["not a [key, value] pair"]),
    ({}, {"__type__": "float", "value": "1e999"}, ["bad float value"]),
    ({}, {"__type__": "dtype", "name": "complex64"}, ["unknown dtype 'complex64'"]),
    ({}, {"__type__": "tuple"}, ["without a list of items"]),
    ({}, {"no type": 1}, ["unreadable description"]),
])
def test_inconsistent_descriptions_are_refused(tmp_path, arrays, root, words):
    path = tmp_path / "edited.safetensors"
    rewrite(path, arrays, describe(root))
    assert_refused(path, *words)


def test_wrong_format_markers_are_refused(tmp_path):
    path = tmp_path / "edited.safetensors"
    rewrite(path, {}, {"format": "leafgrad.checkpoint", "version": 99, "root": 1})
    assert_refused(path, "version 99")
    rewrite(path, {}, {"format": "other", "version": 1, "root": 1})
    assert_refused(path, "no format marker")
    rewrite(path, {}, describe(1), fix_digest=False)
    assert_refused(path, "digest")
    path.write_bytes(safetensors_save({"w": np.zeros(2)}))
    assert_refused(path, "not written by leafgrad.save")


class RunsCode:
    def __init__(self, marker: str) -> None:
        self.marker = marker

    def __reduce__(self):
        return (open, (self.marker, "w"))


def test_loading_never_runs_code(tmp_path):
    marker = tmp_path / "code-ran"
    path = tmp_path / "pickled.pt"
    path.write_bytes(pickle.dumps({"w": RunsCode(str(marker))}))
    assert_refused(path)
    text = json.dumps(describe({"__type__": "pickle", "data": pickle.dumps(
        RunsCode(str(marker))).hex()}))
    assert_refused_text = tmp_path / "pickle-in-metadata.safetensors"
    rewrite(assert_refused_text, {}, json.loads(text))
    assert_refused(assert_refused_text, "unknown entry type")
    assert not marker.exists()


def test_tensors_refuse_pickle(tmp_path):
    with pytest.raises(TypeError, match="use leafgrad.save"):
        pickle.dumps(leafgrad.ones(1))


# -- shared memory, module metadata ----------------------------------------------------------
def description_of(path) -> dict:
    from safetensors import safe_open
    with safe_open(str(path), "numpy") as file:
        return json.loads(file.metadata()["leafgrad"])


def test_views_share_memory_after_loading(tmp_path):
    base = leafgrad.arange(12.0).reshape(3, 4)
    views = [base, base[1], base.t(), base[:, ::2], base[2, 1:3]]
    loaded = round_trip(views, tmp_path)
    for view, original in zip(loaded, views):
        assert view.shape == original.shape and view.is_leaf
        np.testing.assert_array_equal(view.numpy(), original.numpy())
    assert all(np.shares_memory(loaded[0].numpy(), view.numpy()) for view in loaded[1:])
    loaded[0].add_(100.0)  # a write through one is seen through the others, as in torch
    assert loaded[1].tolist() == [104.0, 105.0, 106.0, 107.0]
    assert loaded[3][0].tolist() == [100.0, 102.0] and loaded[4].tolist() == [109.0, 110.0]
    arrays = io_arrays(tmp_path / "checkpoint.safetensors")
    assert [array.shape for array in arrays.values()] == [(12,)]  # stored once, flat
    assert description_of(tmp_path / "checkpoint.safetensors")["version"] == 2
    again = round_trip(loaded, tmp_path, "again.safetensors")  # and keep sharing after that
    assert all(np.shares_memory(again[0].numpy(), view.numpy()) for view in again[1:])


def test_a_parameter_and_its_detached_alias_share_memory(tmp_path):
    parameter_module = pytest.importorskip("leafgrad.nn.parameter")
    weight = parameter_module.Parameter(leafgrad.ones(3))
    loaded = round_trip({"weight": weight, "alias": weight.detach(), "same": weight}, tmp_path)
    assert type(loaded["weight"]) is parameter_module.Parameter
    assert loaded["same"] is loaded["weight"] and loaded["alias"] is not loaded["weight"]
    assert loaded["weight"].requires_grad and not loaded["alias"].requires_grad
    assert np.shares_memory(loaded["weight"].detach().numpy(), loaded["alias"].numpy())


def test_what_shares_no_memory_is_stored_compactly(tmp_path):
    big = leafgrad.arange(1000.0)
    expanded = leafgrad.ones(3).expand(2, 3)  # overlapping elements: stored as a copy
    loaded = round_trip({"slice": big[10:13], "expanded": expanded, "row": expanded[0]},
                        tmp_path)
    assert loaded["slice"].tolist() == [10.0, 11.0, 12.0]
    assert loaded["expanded"].tolist() == [[1.0] * 3] * 2 and loaded["row"].tolist() == [1.0] * 3
    arrays = io_arrays(tmp_path / "checkpoint.safetensors")
    assert sorted(array.shape for array in arrays.values()) == [(2, 3), (3,), (3,)]
    assert description_of(tmp_path / "checkpoint.safetensors")["version"] == 1


def view_node(offset=0, stride=(1,), shape=(2,), flat=None, number=0):
    flat = np.zeros(4, np.float32) if flat is None else flat
    return tensor_node(array=flat, shape=shape, offset=offset, stride=list(stride),
                       object=number)


@pytest.mark.parametrize("root, words", [
    (view_node(offset=3), ["does not fit its array of 4 elements"]),
    (view_node(offset=1, stride=(-2,)), ["does not fit"]),
    (view_node(stride=(0,)), ["overlapping"]),
    (view_node(shape=(2, 2), stride=(1, 1)), ["overlapping"]),
    (view_node(stride=(1, 1)), ["bad view layout"]),
    (view_node(offset="0"), ["bad view layout"]),
    (view_node(number=None), ["without an object number"]),
    ([view_node(), view_node(offset=1)], ["view 0 is described twice"]),
    ([view_node(), tensor_node(array=np.zeros(4, np.float32), shape=(4,))],
     ["described twice, differently"]),
])
def test_inconsistent_views_are_refused(tmp_path, root, words):
    path = tmp_path / "edited.safetensors"
    rewrite(path, {"0": np.zeros(4, np.float32)}, describe(root))
    assert_refused(path, *words)


def test_a_view_of_a_shaped_array_is_refused(tmp_path):
    path = tmp_path / "edited.safetensors"
    flat = np.zeros((2, 2), np.float32)
    rewrite(path, {"0": flat}, describe(view_node(flat=flat)))
    assert_refused(path, "must be flat but has shape [2, 2]")


def test_a_module_state_dict_keeps_its_version_metadata(tmp_path):
    nn = pytest.importorskip("leafgrad.nn")
    state = nn.BatchNorm1d(3).state_dict()
    del state["num_batches_tracked"]
    loaded = round_trip(state, tmp_path)
    assert loaded._metadata == state._metadata == {"": {"version": 2}}
    # with its version known, the missing buffer is an error, as in torch; a state_dict of
    # the first BatchNorm version (no metadata) loads without it
    with pytest.raises(RuntimeError, match='Missing key\\(s\\) in state_dict: '
                                           '"num_batches_tracked"'):
        nn.BatchNorm1d(3).load_state_dict(loaded)
    old = collections.OrderedDict(loaded)
    nn.BatchNorm1d(3).load_state_dict(old)


def test_bad_metadata_is_refused(tmp_path):
    path = tmp_path / "edited.safetensors"
    rewrite(path, {}, describe({"__type__": "odict", "items": [], "metadata": [1]}))
    assert_refused(path, "_metadata is not a dict")


# -- where files go --------------------------------------------------------------------------
def test_saving_through_a_symbolic_link_replaces_its_target(tmp_path):
    target, link = tmp_path / "real.safetensors", tmp_path / "link.safetensors"
    save({"version": 1}, target)
    link.symlink_to(target)
    save({"version": 2}, link)
    assert link.is_symlink() and os.readlink(link) == str(target)
    assert load(target) == {"version": 2} and load(link) == {"version": 2}
    assert sorted(os.listdir(tmp_path)) == ["link.safetensors", "real.safetensors"]


def test_a_saved_file_keeps_its_mode(tmp_path):
    path = tmp_path / "checkpoint.safetensors"
    save({"version": 1}, path)
    os.chmod(path, 0o640)
    save({"version": 2}, path)
    assert os.stat(path).st_mode & 0o7777 == 0o640 and load(path) == {"version": 2}
    old_umask = os.umask(0o077)
    try:
        save({"new": True}, tmp_path / "new.safetensors")  # a new file follows the umask
    finally:
        os.umask(old_umask)
    assert os.stat(tmp_path / "new.safetensors").st_mode & 0o777 == 0o600


def test_a_file_that_cannot_be_written_is_not_replaced(tmp_path, monkeypatch):
    path = tmp_path / "checkpoint.safetensors"
    save({"version": 1}, path)
    # as open(path, "wb") refuses (os.access says so, except for root)
    monkeypatch.setattr(os, "access", lambda *args, **kwargs: False)
    with pytest.raises(PermissionError, match="Permission denied"):
        save({"version": 2}, path)
    monkeypatch.undo()
    assert load(path) == {"version": 1} and os.listdir(tmp_path) == [path.name]


def test_atomic_write_is_public(tmp_path):
    from leafgrad.serialization import atomic_write
    atomic_write(tmp_path / "plot.png", b"\x89PNG")
    atomic_write(str(tmp_path / "plot.png"), b"\x89PNG again")
    assert (tmp_path / "plot.png").read_bytes() == b"\x89PNG again"
    assert os.listdir(tmp_path) == ["plot.png"]


# -- what cannot be saved or loaded ----------------------------------------------------------
def test_files_torch_writes_are_named(tmp_path):
    torch = pytest.importorskip("torch")
    torch.save({"w": torch.ones(2)}, tmp_path / "zip.pt")
    assert_refused(tmp_path / "zip.pt", "a zip archive, the format torch.save writes",
                   "leafgrad.tensor(t.numpy())")
    torch.save({"w": torch.ones(2)}, tmp_path / "legacy.pt",
               _use_new_zipfile_serialization=False)
    assert_refused(tmp_path / "legacy.pt", "a Python pickle", "never unpickles")


def nested(depth: int):
    value = 1
    for _ in range(depth):
        value = [value]
    return value


def test_too_deep_structures_are_refused_by_name(tmp_path):
    with pytest.raises(RecursionError, match=f"cannot save to {tmp_path / 'deep'}: the object's "
                                             f"containers are nested too deeply"):
        save(nested(5000), tmp_path / "deep")
    assert os.listdir(tmp_path) == []
    deep = 300  # deep but within reach: it saves and loads
    assert round_trip(nested(deep), tmp_path) == nested(deep)
    path = tmp_path / "crafted.safetensors"
    text = json.dumps(describe(0)).replace('"root": 0', '"root": ' + "[" * 100_000 + "]" * 100_000)
    metadata = {"leafgrad": text, "leafgrad.sha256": hashlib.sha256(text.encode()).hexdigest()}
    path.write_bytes(safetensors_save({}, metadata=metadata))
    assert_refused(path, "nested too deeply")
    rewrite(path, {}, describe(nested(900)))
    assert_refused(path, "nested too deeply to load")


def test_namedtuples_are_refused_with_a_hint(tmp_path):
    Point = collections.namedtuple("Point", "x y")
    with pytest.raises(TypeError, match=r"a namedtuple .* save tuple\(value\) or "
                                        r"value._asdict\(\) instead"):
        save({"p": Point(1, 2)}, tmp_path / "x")
    assert round_trip(tuple(Point(1, 2)), tmp_path) == (1, 2)
