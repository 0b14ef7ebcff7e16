"""leafgrad.utils.data: data sets, samplers, collation and the DataLoader, in this process and
with worker processes, against torch.utils.data where their outputs can be compared."""
from __future__ import annotations

import collections
import multiprocessing
import os
import random
import time

import numpy as np
import pytest

import leafgrad
from leafgrad.utils.data import (
    BatchSampler,
    ChainDataset,
    ConcatDataset,
    DataLoader,
    Dataset,
    IterableDataset,
    RandomSampler,
    SequentialSampler,
    StackDataset,
    Subset,
    SubsetRandomSampler,
    TensorDataset,
    WeightedRandomSampler,
    default_collate,
    default_convert,
    get_worker_info,
    random_split,
)


def seeded(seed: int) -> leafgrad.Generator:
    return leafgrad.Generator().manual_seed(seed)


def as_lists(batches) -> list:
    """Batches (tensors, or lists/tuples/dicts of them) as nested Python lists."""
    def convert(obj):
        if isinstance(obj, leafgrad.Tensor):
            return obj.tolist()
        if isinstance(obj, dict):
            return {key: convert(value) for key, value in obj.items()}
        if isinstance(obj, (list, tuple)):
            return [convert(item) for item in obj]
        return obj
    return [convert(batch) for batch in batches]


def numbers(n: int = 10) -> TensorDataset:
    return TensorDataset(leafgrad.arange(float(n)).reshape(n, 1), leafgrad.arange(n))


# -- data sets -------------------------------------------------------------------------------
def test_tensor_dataset_rows_and_length():
    data = numbers(5)
    x, y = data[3]
    assert len(data) == 5 and x.tolist() == [3.0] and y.item() == 3
    with pytest.raises(AssertionError, match="Size mismatch between tensors"):
        TensorDataset(leafgrad.zeros(3), leafgrad.zeros(4))


def test_dataset_base_class_and_addition():
    with pytest.raises(NotImplementedError, match="should implement __getitem__"):
        Dataset()[0]
    both = numbers(2) + numbers(3)
    assert isinstance(both, ConcatDataset) and len(both) == 5
    assert both[4][1].item() == 2


def test_concat_dataset_indexing():
    data = ConcatDataset([list(range(3)), list(range(10, 12)), list(range(20, 24))])
    assert data.cumulative_sizes == [3, 5, 9] and len(data) == 9
    assert [data[i] for i in range(9)] == [0, 1, 2, 10, 11, 20, 21, 22, 23]
    assert data[-1] == 23 and data[-9] == 0
    with pytest.raises(ValueError, match="should not exceed dataset length"):
        data[-10]
    with pytest.raises(AssertionError, match="empty iterable"):
        ConcatDataset([])


class Stream(IterableDataset):
    def __init__(self, n: int) -> None:
        self.n = n

    def __iter__(self):
        return iter(range(self.n))

    def __len__(self) -> int:
        return self.n


def test_iterable_datasets_chain_and_refuse_concat():
    chained = Stream(2) + Stream(3)
    assert isinstance(chained, ChainDataset)
    assert list(chained) == [0, 1, 0, 1, 2] and len(chained) == 5
    with pytest.raises(AssertionError, match="does not support IterableDataset"):
        ConcatDataset([Stream(2)])
    with pytest.raises(AssertionError, match="only supports IterableDataset"):
        list(ChainDataset([[1, 2]]))


def test_stack_dataset():
    tuples = StackDataset([1, 2], ["a", "b"])
    named = StackDataset(x=[1, 2], y=["a", "b"])
    assert tuples[1] == (2, "b") and named[0] == {"x": 1, "y": "a"} and len(named) == 2
    with pytest.raises(ValueError, match="Size mismatch between datasets"):
        StackDataset([1], [1, 2])
    with pytest.raises(ValueError, match="both types are given"):
        StackDataset([1], y=[2])


def test_subset_picks_indices():
    subset = Subset(list(range(10, 20)), [5, 0, 7])
    assert len(subset) == 3 and [subset[i] for i in range(3)] == [15, 10, 17]
    assert subset.__getitems__([2, 0]) == [17, 15]


@pytest.mark.parametrize("n, lengths", [
    (10, [3, 7]), (10, [0.3, 0.7]), (30, [0.3, 0.3, 0.4]), (11, [0.5, 0.5]), (7, [0.2] * 5)])
def test_random_split_lengths_match_torch(n, lengths):
    torch = pytest.importorskip("torch")
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # splits of length 0
        expected = [len(s) for s in torch.utils.data.random_split(range(n), lengths)]
        ours = random_split(range(n), lengths, generator=seeded(0))
    assert [len(s) for s in ours] == expected
    items = sorted(item for subset in ours for item in subset)
    assert items == list(range(n))  # disjoint and covering


def test_random_split_is_seeded_and_checks_lengths():
    first = [list(s) for s in random_split(range(20), [5, 15], generator=seeded(3))]
    again = [list(s) for s in random_split(range(20), [5, 15], generator=seeded(3))]
    other = [list(s) for s in random_split(range(20), [5, 15], generator=seeded(4))]
    assert first == again and first != other
    with pytest.raises(ValueError, match="Sum of input lengths does not equal"):
        random_split(range(10), [3, 3])
    with pytest.raises(ValueError, match="Fraction at index 0 is not between 0 and 1"):
        random_split(range(10), [1.5, -0.5])
    with pytest.warns(UserWarning, match="Length of split at index 1 is 0"):
        random_split(range(2), [0.9, 0.1])
    leafgrad.manual_seed(5)
    a = [list(s) for s in random_split(range(8), [4, 4])]
    leafgrad.manual_seed(5)
    assert a == [list(s) for s in random_split(range(8), [4, 4])]  # the default generator


# -- samplers --------------------------------------------------------------------------------
def test_sequential_and_random_samplers():
    assert list(SequentialSampler(range(4))) == [0, 1, 2, 3]
    order = list(RandomSampler(range(50), generator=seeded(1)))
    assert sorted(order) == list(range(50)) and order != list(range(50))
    assert order == list(RandomSampler(range(50), generator=seeded(1)))
    assert order != list(RandomSampler(range(50), generator=seeded(2)))


def test_random_sampler_num_samples_and_replacement():
    cycled = list(RandomSampler(range(4), num_samples=10, generator=seeded(0)))
    assert len(cycled) == 10 and sorted(cycled[:4]) == sorted(cycled[4:8]) == [0, 1, 2, 3]
    drawn = list(RandomSampler(range(3), replacement=True, num_samples=100, generator=seeded(0)))
    assert len(drawn) == 100 and set(drawn) == {0, 1, 2}
    assert len(RandomSampler(range(3), replacement=True, num_samples=7)) == 7
    with pytest.raises(TypeError, match="replacement should be a boolean value"):
        RandomSampler(range(3), replacement=1)
    with pytest.raises(ValueError, match="num_samples should be a positive integer value"):
        RandomSampler(range(3), num_samples=0)


def test_random_sampler_without_generator_follows_manual_seed():
    leafgrad.manual_seed(7)
    first = list(RandomSampler(range(30)))
    second = list(RandomSampler(range(30)))
    leafgrad.manual_seed(7)
    assert list(RandomSampler(range(30))) == first and first != second


def test_subset_and_weighted_samplers():
    picked = list(SubsetRandomSampler([10, 20, 30, 40], generator=seeded(0)))
    assert sorted(picked) == [10, 20, 30, 40]
    weighted = list(WeightedRandomSampler([0.0, 1.0, 3.0], 200, generator=seeded(0)))
    counts = collections.Counter(weighted)
    assert counts[0] == 0 and counts[2] > 2 * counts[1]
    unique = list(WeightedRandomSampler([1.0, 1.0, 1.0, 0.5], 4, replacement=False,
                                        generator=seeded(0)))
    assert sorted(unique) == [0, 1, 2, 3]
    with pytest.raises(RuntimeError, match="cannot sample n_sample > prob_dist"):
        list(WeightedRandomSampler([1.0, 0.0], 2, replacement=False))
    with pytest.raises(RuntimeError, match="element < 0"):
        list(WeightedRandomSampler([1.0, -1.0], 2))
    with pytest.raises(ValueError, match="num_samples should be a positive integer"):
        WeightedRandomSampler([1.0], 0)
    with pytest.raises(ValueError, match="weights should be a 1d sequence"):
        WeightedRandomSampler([[1.0]], 1)


@pytest.mark.parametrize("n, batch_size, drop_last", [
    (10, 3, False), (10, 3, True), (9, 3, False), (9, 3, True), (2, 5, False), (2, 5, True)])
def test_batch_sampler_matches_torch(n, batch_size, drop_last):
    torch = pytest.importorskip("torch")
    ours = BatchSampler(SequentialSampler(range(n)), batch_size, drop_last)
    theirs = torch.utils.data.BatchSampler(range(n), batch_size, drop_last)
    assert list(ours) == list(theirs) and len(ours) == len(theirs)


def test_batch_sampler_checks_arguments():
    with pytest.raises(ValueError, match="batch_size should be a positive integer value"):
        BatchSampler(range(3), 0, False)
    with pytest.raises(ValueError, match="drop_last should be a boolean value"):
        BatchSampler(range(3), 2, 0)


# -- collation -------------------------------------------------------------------------------
Point = collections.namedtuple("Point", ["x", "y"])


def collate_cases(lib):
    """The same batches built with ``lib`` (leafgrad or torch) tensors."""
    def t(values, dtype):
        return lib.from_numpy(np.array(values, dtype=dtype))
    return {
        "tensors": [t([1.0, 2.0], np.float32), t([3.0, 4.0], np.float32)],
        "int tensors": [t([[1]], np.int64), t([[2]], np.int64)],
        "arrays": [np.array([1.5, 2.5]), np.array([3.5, 4.5])],
        "int32 arrays": [np.array([1], np.int32), np.array([2], np.int32)],
        "numpy scalars": [np.float32(1.0), np.float32(2.0)],
        "0-d arrays": [np.array(1.5), np.array(2.0)],
        "floats": [1.5, 2.0],
        "ints": [1, 2],
        "bools": [True, False],
        "strings": ["a", "b"],
        "bytes": [b"a", b"b"],
        "tuples": [(1, 2.0, "x"), (3, 4.0, "y")],
        "lists": [[t([1.0], np.float32), 1], [t([2.0], np.float32), 2]],
        "dicts": [{"a": 1, "b": np.array([1.0])}, {"a": 2, "b": np.array([2.0])}],
        "namedtuples": [Point(1, 2.5), Point(3, 4.5)],
        "nested": [{"image": t([[0.5]], np.float32), "meta": (1, {"name": "p"})},
                   {"image": t([[1.5]], np.float32), "meta": (2, {"name": "q"})}],
        "ordered dicts": [collections.OrderedDict(b=1, a=2.0),
                          collections.OrderedDict(b=3, a=4.0)],
    }


def assert_same_structure(ours, theirs, torch):
    if isinstance(theirs, torch.Tensor):
        assert isinstance(ours, leafgrad.Tensor), type(ours)
        assert str(ours.dtype) == str(theirs.dtype)
        assert tuple(ours.shape) == tuple(theirs.shape)
        np.testing.assert_array_equal(ours.numpy(), theirs.numpy())
        return
    assert type(ours) is type(theirs), (type(ours), type(theirs))
    if isinstance(theirs, dict):
        assert list(ours) == list(theirs)
        for key in theirs:
            assert_same_structure(ours[key], theirs[key], torch)
    elif isinstance(theirs, (list, tuple)):
        assert len(ours) == len(theirs)
        for mine, other in zip(ours, theirs):
            assert_same_structure(mine, other, torch)
    else:
        assert ours == theirs


@pytest.mark.parametrize("case", list(collate_cases(leafgrad)))
def test_default_collate_matches_torch(case):
    torch = pytest.importorskip("torch")
    from torch.utils.data import default_collate as torch_collate
    ours = default_collate(collate_cases(leafgrad)[case])
    theirs = torch_collate(collate_cases(torch)[case])
    assert_same_structure(ours, theirs, torch)


@pytest.mark.parametrize("case", ["arrays", "numpy scalars", "ints", "tuples", "dicts",
                                  "namedtuples", "strings"])
def test_default_convert_matches_torch(case):
    torch = pytest.importorskip("torch")
    from torch.utils.data import default_convert as torch_convert
    for ours_sample, torch_sample in zip(collate_cases(leafgrad)[case], collate_cases(torch)[case]):
        assert_same_structure(default_convert(ours_sample), torch_convert(torch_sample), torch)


def test_default_collate_errors():
    with pytest.raises(RuntimeError, match="each element in list of batch should be of equal"):
        default_collate([[1, 2], [3]])
    with pytest.raises(TypeError, match="batch must contain tensors, numpy arrays, numbers"):
        default_collate([object(), object()])
    with pytest.raises(TypeError, match="batch must contain tensors"):
        default_collate([np.array(["a"]), np.array(["b"])])
    with pytest.raises(RuntimeError, match="stack expects each tensor to be equal size"):
        default_collate([leafgrad.zeros(2), leafgrad.zeros(3)])


# -- DataLoader in this process ----------------------------------------------------------------
def test_loader_batches_in_order():
    loader = DataLoader(numbers(10), batch_size=4)
    batches = list(loader)
    assert len(loader) == 3 and len(batches) == 3
    assert [y.tolist() for _, y in batches] == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]
    assert batches[0][0].shape == (4, 1) and batches[0][0].dtype is leafgrad.float32
    dropped = DataLoader(numbers(10), batch_size=4, drop_last=True)
    assert len(dropped) == 2 and [y.tolist() for _, y in dropped] == [[0, 1, 2, 3],
                                                                      [4, 5, 6, 7]]


def test_loader_shuffle_is_seeded_by_its_generator():
    def epoch(seed):
        return [y.tolist() for _, y in DataLoader(numbers(20), batch_size=6, shuffle=True,
                                                  generator=seeded(seed))]
    first = epoch(0)
    assert first == epoch(0) and first != epoch(1)
    assert sorted(sum(first, [])) == list(range(20))
    loader = DataLoader(numbers(20), batch_size=6, shuffle=True, generator=seeded(0))
    one, two = as_lists(loader), as_lists(loader)
    assert one != two  # each epoch reshuffles


def test_loader_shuffle_without_generator_follows_manual_seed():
    leafgrad.manual_seed(11)
    first = as_lists(DataLoader(numbers(20), batch_size=5, shuffle=True))
    leafgrad.manual_seed(11)
    assert as_lists(DataLoader(numbers(20), batch_size=5, shuffle=True)) == first


def test_loader_samplers_and_collate_fn():
    loader = DataLoader(list(range(10)), batch_size=3, sampler=[9, 8, 7, 6])
    assert as_lists(loader) == [[9, 8, 7], [6]]
    loader = DataLoader(list(range(10)), batch_sampler=[[1, 2], [5]])
    assert as_lists(loader) == [[1, 2], [5]] and len(loader) == 2
    loader = DataLoader(list(range(6)), batch_size=3, collate_fn=lambda batch: sum(batch))
    assert list(loader) == [3, 12]


def test_loader_without_batching_converts_samples():
    data = [np.array([1.0, 2.0]), np.array([3.0, 4.0])]
    samples = list(DataLoader(data, batch_size=None))
    assert all(isinstance(s, leafgrad.Tensor) and s.shape == (2,) for s in samples)
    assert samples[1].tolist() == [3.0, 4.0] and samples[0].dtype is leafgrad.float64


def test_loader_collates_dicts_and_numpy():
    class Records(Dataset):
        def __len__(self):
            return 5

        def __getitem__(self, i):
            return {"x": np.full(2, i, np.float32), "label": i, "name": f"r{i}"}

    batch = next(iter(DataLoader(Records(), batch_size=3)))
    assert batch["x"].shape == (3, 2) and batch["x"].dtype is leafgrad.float32
    assert batch["label"].tolist() == [0, 1, 2] and batch["label"].dtype is leafgrad.int64
    assert batch["name"] == ["r0", "r1", "r2"]


@pytest.mark.parametrize("kwargs, message", [
    ({"shuffle": True, "sampler": [0]}, "sampler option is mutually exclusive with shuffle"),
    ({"batch_sampler": [[0]], "batch_size": 2}, "batch_sampler option is mutually exclusive"),
    ({"batch_sampler": [[0]], "shuffle": True}, "batch_sampler option is mutually exclusive"),
    ({"batch_sampler": [[0]], "sampler": [0]}, "batch_sampler option is mutually exclusive"),
    ({"batch_sampler": [[0]], "drop_last": True}, "batch_sampler option is mutually exclusive"),
    ({"batch_size": None, "drop_last": True}, "disables auto-batching"),
    ({"num_workers": -1}, "num_workers option should be non-negative"),
    ({"timeout": -1}, "timeout option should be non-negative"),
    ({"prefetch_factor": 2}, "prefetch_factor option could only be specified"),
    ({"persistent_workers": True}, "persistent_workers option needs num_workers > 0"),
    ({"multiprocessing_context": "fork"}, "can only be used with multi-process loading"),
])
def test_loader_argument_errors_match_torch(kwargs, message):
    torch = pytest.importorskip("torch")
    with pytest.raises(ValueError, match=message):
        DataLoader(list(range(4)), **kwargs)
    with pytest.raises(ValueError, match=message):
        torch.utils.data.DataLoader(list(range(4)), **kwargs)


@pytest.mark.parametrize("kwargs", [{"shuffle": True}, {"sampler": [0]},
                                    {"batch_sampler": [[0]]}])
def test_loader_refuses_samplers_for_iterable_datasets(kwargs):
    with pytest.raises(ValueError, match="DataLoader with IterableDataset: expected unspecified"):
        DataLoader(Stream(3), **kwargs)


def test_loader_attributes_are_frozen():
    loader = DataLoader(list(range(4)), batch_size=2)
    with pytest.raises(ValueError, match="batch_size attribute should not be set after"):
        loader.batch_size = 3


def test_loader_over_iterable_dataset():
    assert as_lists(DataLoader(Stream(5), batch_size=2)) == [[0, 1], [2, 3], [4]]
    assert as_lists(DataLoader(Stream(5), batch_size=2, drop_last=True)) == [[0, 1], [2, 3]]
    assert len(DataLoader(Stream(5), batch_size=2)) == 3
    assert list(DataLoader(Stream(3), batch_size=None)) == [0, 1, 2]  # ints stay ints


def test_get_worker_info_is_none_in_the_main_process():
    assert get_worker_info() is None


# -- DataLoader with worker processes ---------------------------------------------------------
class Records(Dataset):
    """Samples that mix tensors, arrays, numbers and strings."""

    def __len__(self) -> int:
        return 11

    def __getitem__(self, i):
        return {"x": leafgrad.full((2, 2), float(i)), "y": np.array([i, -i]), "label": i,
                "weight": i / 2, "name": f"s{i}"}


def test_workers_return_what_in_process_loading_returns():
    for kwargs in ({"batch_size": 3}, {"batch_size": 3, "drop_last": True},
                   {"batch_size": 2, "shuffle": True}, {"batch_size": None}):
        extra = {"generator": seeded(5)} if kwargs.get("shuffle") else {}
        expected = list(DataLoader(Records(), **kwargs, **extra))
        extra = {"generator": seeded(5)} if kwargs.get("shuffle") else {}
        got = list(DataLoader(Records(), num_workers=2, **kwargs, **extra))
        assert as_lists(got) == as_lists(expected), kwargs
        first = got[0]
        assert isinstance(first["x"], leafgrad.Tensor) and first["x"].dtype is leafgrad.float32
        assert first["y"].dtype is leafgrad.int64


class SlowFirst(Dataset):
    """Sample 0 is slow, so worker 0's first batch arrives after worker 1's."""

    def __len__(self) -> int:
        return 8

    def __getitem__(self, i):
        if i == 0:
            time.sleep(0.3)
        return i


def test_workers_keep_the_sampler_order_when_results_arrive_out_of_order():
    assert as_lists(DataLoader(SlowFirst(), batch_size=2, num_workers=2)) == \
        [[0, 1], [2, 3], [4, 5], [6, 7]]


class WhoLoads(Dataset):
    """Each sample names the worker that loaded it and a number from leafgrad's generator."""

    def __len__(self) -> int:
        return 4

    def __getitem__(self, i):
        info = get_worker_info()
        return info.id, info.num_workers, leafgrad.rand(1).item(), random.random()


def test_workers_are_identified_and_seeded_from_the_generator():
    def run(seed):
        return as_lists(DataLoader(WhoLoads(), batch_size=1, num_workers=2,
                                   generator=seeded(seed)))
    batches = run(0)
    assert [batch[0] for batch in batches] == [[0], [1], [0], [1]]  # round robin
    assert all(batch[1] == [2] for batch in batches)
    assert batches == run(0)  # the loader's generator decides the workers' seeds
    assert batches != run(1)
    assert batches[0][2] != batches[1][2]  # the two workers draw different numbers


def test_worker_init_fn_runs_in_each_worker():
    seen = as_lists(DataLoader(InitRecorder(), batch_size=1, num_workers=2,
                               worker_init_fn=InitRecorder.init))
    assert seen == [[100], [101]]


class InitRecorder(Dataset):
    offset = 0

    @staticmethod
    def init(worker_id: int) -> None:
        get_worker_info().dataset.offset = 100 + worker_id

    def __len__(self) -> int:
        return 2

    def __getitem__(self, i):
        return self.offset


class Failing(Dataset):
    def __len__(self) -> int:
        return 4

    def __getitem__(self, i):
        if i == 2:
            raise ValueError("sample 2 is broken")
        return i


def test_worker_errors_reach_the_main_process():
    loader = DataLoader(Failing(), batch_size=1, num_workers=2)
    iterator = iter(loader)
    assert next(iterator).tolist() == [0] and next(iterator).tolist() == [1]
    with pytest.raises(ValueError, match="Caught ValueError in DataLoader worker process 0"):
        next(iterator)
    iterator._shutdown_workers()


class Dies(Dataset):
    def __len__(self) -> int:
        return 2

    def __getitem__(self, i):
        os._exit(3)


def test_a_dead_worker_is_reported():
    with pytest.raises(RuntimeError, match="exited unexpectedly"):
        list(DataLoader(Dies(), batch_size=1, num_workers=1))


def test_workers_stop_when_iteration_stops_early():
    iterator = iter(DataLoader(numbers(50), batch_size=2, num_workers=2))
    next(iterator)
    workers = list(iterator._workers)
    assert all(worker.is_alive() for worker in workers)
    del iterator
    assert not any(worker.is_alive() for worker in workers)


class SplitStream(IterableDataset):
    """Each worker yields its own share of range(n), as torch's documentation shows."""

    def __init__(self, n: int) -> None:
        self.n = n

    def __iter__(self):
        info = get_worker_info()
        if info is None:
            return iter(range(self.n))
        return iter(range(info.id, self.n, info.num_workers))


@pytest.mark.parametrize("dataset_class, batch_size", [
    (Stream, 2), (Stream, None), (SplitStream, 2), (SplitStream, 3), (SplitStream, None)])
def test_iterable_dataset_with_workers_matches_torch(dataset_class, batch_size):
    torch = pytest.importorskip("torch")

    class TorchDataset(torch.utils.data.IterableDataset):
        def __init__(self, n):
            self.inner = dataset_class(n)

        def __iter__(self):
            info = torch.utils.data.get_worker_info()
            if info is None or dataset_class is Stream:
                return iter(self.inner)
            return iter(range(info.id, self.inner.n, info.num_workers))

    ours = as_lists(DataLoader(dataset_class(7), batch_size=batch_size, num_workers=2))
    theirs = [batch.tolist() if isinstance(batch, torch.Tensor) else batch
              for batch in torch.utils.data.DataLoader(TorchDataset(7), batch_size=batch_size,
                                                       num_workers=2)]
    assert ours == theirs


def test_spawned_workers_receive_tensors_as_arrays():
    context = multiprocessing.get_context("spawn")
    data = TensorDataset(leafgrad.arange(6.0).reshape(3, 2), leafgrad.arange(3))
    loader = DataLoader(data, batch_size=2, num_workers=1, multiprocessing_context=context)
    assert as_lists(loader) == as_lists(DataLoader(data, batch_size=2))


def test_worker_timeout():
    class Slow(Dataset):
        def __len__(self):
            return 1

        def __getitem__(self, i):
            time.sleep(0.5)
            return i

    iterator = iter(DataLoader(Slow(), num_workers=1, timeout=0.1))
    with pytest.raises(RuntimeError, match="DataLoader timed out after 0.1 seconds"):
        next(iterator)
    iterator._shutdown_workers()


class Computed(Dataset):
    """Samples that are results of ops on a tensor that requires grad."""

    def __len__(self) -> int:
        return 2

    def __getitem__(self, i):
        return leafgrad.ones(1, requires_grad=True) * 2


def test_graphs_do_not_cross_process_boundaries():
    batch = next(iter(DataLoader(Computed(), batch_size=2)))
    assert batch.requires_grad and batch.grad_fn is not None  # in this process: kept
    with pytest.raises(RuntimeError, match="(?s)Caught RuntimeError in DataLoader worker.*"
                                           "Cowardly refusing to serialize non-leaf tensor"):
        list(DataLoader(Computed(), batch_size=2, num_workers=1))


def test_pin_memory_warns_that_it_does_nothing():
    with pytest.warns(UserWarning, match="'pin_memory' argument is set as true but no "
                                         "accelerator is found"):
        list(DataLoader(list(range(2)), pin_memory=True))


def test_only_the_iterable_fetcher_takes_drop_last():
    import inspect

    from leafgrad.utils.data.collate import default_collate
    from leafgrad.utils.data.dataloader import _IterableFetcher, _MapFetcher, make_fetcher
    # a map-style set's short last batch is dropped by its batch sampler, not by the fetcher
    assert "drop_last" not in inspect.signature(_MapFetcher).parameters
    fetcher = make_fetcher("map", list(range(5)), True, default_collate, drop_last=True)
    assert fetcher.fetch([3, 4]).tolist() == [3, 4]
    fetcher = make_fetcher("iterable", range(5), True, default_collate, drop_last=True)
    assert isinstance(fetcher, _IterableFetcher) and fetcher.fetch([0, 1, 2]).tolist() == [0, 1, 2]
    with pytest.raises(StopIteration):
        fetcher.fetch([0, 1, 2])  # the two left are a short batch, dropped
