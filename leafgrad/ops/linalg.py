"""Matrix products: matmul (and ``@``), mm, bmm, dot, outer, addmm, einsum, tensordot.

NumPy computes each product in the operands' dtype (float32 stays float32). The derivatives
are products again, so double backward comes free; the engine sums gradients over broadcast
batch dims.
"""
from __future__ import annotations

import functools
import numbers
import string

from leafgrad._backend import is_array, xp
from leafgrad._dtype import is_bool, is_integral
from leafgrad._factories import tensor as _tensor_from_data
from leafgrad._tensor import Tensor, _normalize_dim
from leafgrad.autograd.function import Op
from leafgrad.ops._checks import expect_tensor
from leafgrad.ops._nn_utils import scalar_type
from leafgrad.ops.elementwise import mul

__all__ = ["matmul", "mm", "bmm", "dot", "outer", "addmm", "einsum", "tensordot"]


class Matmul(Op):
    """self: grad @ other.mT;  other: self.mT @ grad  (over broadcast batch dims: summed)"""

    saved_inputs = (0, 1)

    @staticmethod
    def forward(ctx, a, b):
        return xp.matmul(a, b)

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.saved_tensors
        needs = ctx.needs_input_grad
        return (Matmul.apply(grad, b.mT) if needs[0] else None,
                Matmul.apply(a.mT, grad) if needs[1] else None)


def _column_major(matrix: xp.ndarray) -> bool:
    """Whether a matrix is laid out by columns (a transposed contiguous matrix, as
    ``weight.t()``): torch's test in mm_mat1_backward / mm_mat2_backward."""
    step = matrix.itemsize
    return matrix.strides == (step, step * matrix.shape[0])


def _mat1_grad(grad: Tensor, mat2: Tensor, column_major: bool) -> Tensor:
    """grad @ mat2.T, computed as (mat2 @ grad.T).T when mat1 was column-major so that the
    gradient has mat1's layout (torch's mm_mat1_backward; the same product either way)."""
    if column_major:
        return mat2.mm(grad.t()).t()
    return grad.mm(mat2.t())


def _mat2_grad(grad: Tensor, mat1: Tensor, column_major: bool) -> Tensor:
    """mat1.T @ grad, computed as (grad.T @ mat1).T when mat2 was column-major (torch's
    mm_mat2_backward): ``linear``'s weight gradient then comes out row-major, as the weight,
    instead of transposed, which would make every later elementwise update on it strided."""
    if column_major:
        return grad.t().mm(mat1).t()
    return mat1.t().mm(grad)


class Mm(Matmul):
    """self: grad @ mat2.T;  mat2: self.T @ grad  (each in its input's layout)

    Matmul's rule under torch's node name (MmBackward0), with torch's layout choice.
    """

    @staticmethod
    def forward(ctx, a, b):
        ctx.column_major = (_column_major(a), _column_major(b))
        return xp.matmul(a, b)

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.saved_tensors
        needs = ctx.needs_input_grad
        return (_mat1_grad(grad, b, ctx.column_major[0]) if needs[0] else None,
                _mat2_grad(grad, a, ctx.column_major[1]) if needs[1] else None)


# Matmul's rule under torch's node name for this call (BmmBackward0).
class Bmm(Matmul):
    """batch1: grad @ batch2.mT;  batch2: batch1.mT @ grad"""


class Dot(Op):
    """self: grad * other;  other: grad * self"""

    saved_inputs = (0, 1)

    @staticmethod
    def forward(ctx, a, b):
        return xp.asarray(xp.dot(a, b))

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.saved_tensors
        needs = ctx.needs_input_grad
        return (grad * b if needs[0] else None), (grad * a if needs[1] else None)


def _by(shape) -> str:
    return "x".join(str(s) for s in shape)


def _check_operands(name: str, a: Tensor, b: Tensor) -> None:
    """Both operands of a product share one dtype, which is not bool (as torch)."""
    if a._data.dtype != b._data.dtype:
        raise RuntimeError(f"{name}: expected both operands to have the same dtype, but got "
                           f"{a.dtype} and {b.dtype}; convert one with .to(other.dtype)")
    if is_bool(a._data.dtype):
        raise NotImplementedError(f"{name} is not implemented for bool tensors; convert them "
                                  f"with .int() or .float()")


def _cannot_multiply(a_shape, b_shape, inner: int) -> RuntimeError:
    return RuntimeError(
        f"mat1 and mat2 shapes cannot be multiplied ({_by(a_shape)} and {_by(b_shape)}): the "
        f"last dim of the first ({a_shape[-1]}) must equal the rows of the second ({inner}); "
        f"transpose or reshape an operand")


def mm(input: Tensor, mat2: Tensor) -> Tensor:
    """Matrix product of two 2-D tensors (no broadcasting: see :func:`matmul`)."""
    expect_tensor(input, "mm")
    expect_tensor(mat2, "mm", "mat2", 2)
    for name, operand in (("self", input), ("mat2", mat2)):
        if operand._data.ndim != 2:
            raise RuntimeError(f"mm: {name} must be a matrix, but the shapes are "
                               f"{list(input.shape)} and {list(mat2.shape)}; use matmul for "
                               f"vectors and batches")
    _check_operands("mm", input, mat2)
    if input._data.shape[1] != mat2._data.shape[0]:
        raise _cannot_multiply(input._data.shape, mat2._data.shape, mat2._data.shape[0])
    return Mm.apply(input, mat2)


def bmm(input: Tensor, mat2: Tensor) -> Tensor:
    """Batched matrix product of two 3-D tensors with the same batch size (no broadcasting)."""
    expect_tensor(input, "bmm")
    expect_tensor(mat2, "bmm", "mat2", 2)
    for name, operand in (("batch1", input), ("batch2", mat2)):
        if operand._data.ndim != 3:
            raise RuntimeError(f"bmm: {name} must be a 3D tensor, but the shapes are "
                               f"{list(input.shape)} and {list(mat2.shape)}; use matmul for "
                               f"other ranks")
    _check_operands("bmm", input, mat2)
    batch, _, inner = input._data.shape
    if mat2._data.shape[:2] != (batch, inner):
        raise RuntimeError(f"bmm: Expected size for first two dimensions of batch2 tensor to be: "
                           f"[{batch}, {inner}] but got: {list(mat2.shape[:2])} (shapes "
                           f"{list(input.shape)} and {list(mat2.shape)}); bmm does not "
                           f"broadcast, matmul does")
    return Bmm.apply(input, mat2)


def dot(input: Tensor, other: Tensor) -> Tensor:
    """Inner product of two 1-D tensors of the same size (a 0-dim result)."""
    expect_tensor(input, "dot")
    expect_tensor(other, "dot", "other", 2)
    if input._data.ndim != 1 or other._data.ndim != 1:
        raise RuntimeError(f"1D tensors expected, but got {input._data.ndim}D and "
                           f"{other._data.ndim}D tensors (shapes {list(input.shape)} and "
                           f"{list(other.shape)}); use matmul for matrices")
    _check_operands("dot", input, other)
    if input._data.size != other._data.size:
        raise RuntimeError(f"inconsistent tensor size, expected tensor [{input._data.size}] and "
                           f"src [{other._data.size}] to have the same number of elements, but "
                           f"got {input._data.size} and {other._data.size} elements respectively")
    return Dot.apply(input, other)


def matmul(input: Tensor, other: Tensor) -> Tensor:
    """Matrix product with torch's rules: 1-D with 1-D is a dot product; a 1-D first (second)
    operand is a row (column) vector whose dim is removed from the result; the batch dims of
    N-D operands broadcast.

    Example::

        >>> leafgrad.ones(5, 2, 3).matmul(leafgrad.ones(3)).shape
        torch.Size([5, 2])
    """
    expect_tensor(input, "matmul")
    expect_tensor(other, "matmul", "other", 2)
    a_ndim, b_ndim = input._data.ndim, other._data.ndim
    if a_ndim == 0 or b_ndim == 0:
        raise RuntimeError(f"both arguments to matmul need to be at least 1D, but they are "
                           f"{a_ndim}D and {b_ndim}D; use mul (*) to scale by a 0-dim tensor")
    if a_ndim == 1 and b_ndim == 1:
        return dot(input, other)
    if a_ndim == 2 and b_ndim == 2:
        return mm(input, other)
    _check_operands("matmul", input, other)
    a_shape, b_shape = input._data.shape, other._data.shape
    inner = b_shape[0] if b_ndim == 1 else b_shape[-2]
    if a_shape[-1] != inner:
        raise _cannot_multiply(a_shape, b_shape, inner)
    try:
        xp.broadcast_shapes(a_shape[:-2], b_shape[:-2])
    except ValueError:
        raise RuntimeError(f"matmul: the batch dims of the shapes {list(a_shape)} and "
                           f"{list(b_shape)} do not broadcast ({list(a_shape[:-2])} against "
                           f"{list(b_shape[:-2])})") from None
    out = Matmul.apply(input.unsqueeze(0) if a_ndim == 1 else input,
                       other.unsqueeze(-1) if b_ndim == 1 else other)
    if b_ndim == 1:
        out = out.squeeze(-1)
    return out.squeeze(-2) if a_ndim == 1 else out


def outer(input: Tensor, vec2: Tensor) -> Tensor:
    """Outer product of two 1-D tensors: result[i, j] = input[i] * vec2[j] (dtypes promote)."""
    expect_tensor(input, "outer")
    expect_tensor(vec2, "outer", "vec2", 2)
    for name, operand in (("self", input), ("vec2", vec2)):
        if operand._data.ndim != 1:
            raise RuntimeError(f"outer: Expected 1-D argument {name}, but got "
                               f"{operand._data.ndim}-D (shape {list(operand.shape)}); flatten "
                               f"it first")
    return mul(input.unsqueeze(1), vec2)


class Addmm(Op):
    """self: grad * beta (summed to self's shape);  mat1: alpha * grad @ mat2.T;
    mat2: alpha * mat1.T @ grad  (each in its input's layout, as torch)

    Fused: ``F.linear`` of a matrix runs it (``addmm(bias, input, weight.t())``, as torch).
    """

    saved_inputs = (1, 2)

    @staticmethod
    def forward(ctx, input, mat1, mat2, beta, alpha):
        ctx.beta, ctx.alpha, ctx.input_shape = beta, alpha, input.shape
        ctx.column_major = (_column_major(mat1), _column_major(mat2))
        out = xp.matmul(mat1, mat2)
        if is_integral(out.dtype):  # integer products take the factors as integers, as torch
            alpha, beta = int(alpha), int(beta)
        if alpha != 1:
            out *= alpha
        if beta != 0:  # beta = 0 ignores input, nan and inf included (as torch)
            out += input if beta == 1 else input * beta
        return out

    @staticmethod
    def backward(ctx, grad):
        mat1, mat2 = ctx.saved_tensors
        needs = ctx.needs_input_grad
        alpha, beta = ctx.alpha, ctx.beta
        grad_input = grad_mat1 = grad_mat2 = None
        if needs[0]:
            grad_input = grad if beta == 1 else grad * beta
            shape = ctx.input_shape
            if grad_input.shape != shape:
                # summed here rather than by the engine, so that node hooks see the gradient in
                # input's shape, as torch's engine hands it to them (a bias of shape (out,))
                lead = 2 - len(shape)
                axes = tuple(range(lead)) + tuple(lead + i for i, size in enumerate(shape)
                                                  if size == 1 and grad.shape[lead + i] != 1)
                grad_input = grad_input.sum(dim=axes, keepdim=True).reshape(shape)
        if needs[1]:
            grad_mat1 = _mat1_grad(grad, mat2, ctx.column_major[0])
            grad_mat1 = grad_mat1 if alpha == 1 else grad_mat1 * alpha
        if needs[2]:
            grad_mat2 = _mat2_grad(grad, mat1, ctx.column_major[1])
            grad_mat2 = grad_mat2 if alpha == 1 else grad_mat2 * alpha
        return grad_input, grad_mat1, grad_mat2


def addmm(input: Tensor, mat1: Tensor, mat2: Tensor, *, beta=1, alpha=1) -> Tensor:
    """``beta * input + alpha * (mat1 @ mat2)`` for matrices ``mat1`` (n x m) and ``mat2``
    (m x p), with ``input`` broadcast to (n x p); ``beta = 0`` ignores ``input``.

    Example::

        >>> leafgrad.addmm(leafgrad.ones(3), leafgrad.ones(4, 2), leafgrad.ones(2, 3))[0]
        tensor([3., 3., 3.])
    """
    expect_tensor(input, "addmm")
    expect_tensor(mat1, "addmm", "mat1", 2)
    expect_tensor(mat2, "addmm", "mat2", 3)
    for name, operand in (("mat1", mat1), ("mat2", mat2)):
        if operand._data.ndim != 2:
            raise RuntimeError(f"{name} must be a matrix, got {operand._data.ndim}-D tensor")
    (rows, inner), (inner2, columns) = mat1._data.shape, mat2._data.shape
    if inner != inner2:
        raise RuntimeError(f"mat1 and mat2 shapes cannot be multiplied ({rows}x{inner} and "
                           f"{inner2}x{columns})")
    shape, target = input._data.shape, [rows, columns]
    if len(shape) > 2:
        raise RuntimeError(f"expand: the number of sizes provided (2) must be greater or equal "
                           f"to the number of dimensions in the tensor ({len(shape)})")
    for dim, size in enumerate(shape, start=2 - len(shape)):
        if size not in (1, target[dim]):
            raise RuntimeError(f"The expanded size of the tensor ({target[dim]}) must match the "
                               f"existing size ({size}) at non-singleton dimension {dim}.  "
                               f"Target sizes: {target}.  Tensor sizes: {list(shape)}")
    for name, operand in (("self", input), ("mat1", mat1)):
        if operand._data.dtype != mat2._data.dtype:
            raise RuntimeError(f"{name} and mat2 must have the same dtype, but got "
                               f"{scalar_type(operand)} and {scalar_type(mat2)}")
    if is_bool(mat2._data.dtype):
        raise NotImplementedError("\"addmm_impl_cpu_\" not implemented for 'Bool'")
    return Addmm.apply(input, mat1, mat2, beta=beta, alpha=alpha)


# -- einsum ----------------------------------------------------------------------------------
class Einsum(Op):
    """operand i: einsum of grad and the other operands into operand i's subscripts; an index
    summed in operand i alone is broadcast back with a ones vector, a repeated index (a
    diagonal) is put back with an identity matrix"""

    abstract = True  # applied through _einsum_op(count), which sets saved_inputs per count

    @staticmethod
    def forward(ctx, *operands, equation):
        ctx.equation = equation
        if len(operands) == 1:  # NumPy may return a view of the operand; results own memory
            return xp.array(xp.einsum(equation, operands[0]), copy=True)
        return xp.asarray(xp.einsum(equation, *operands, optimize=True))

    @staticmethod
    def backward(ctx, grad):
        operands = ctx.saved_tensors
        inputs, output = ctx.equation.split("->")
        inputs = inputs.split(",")
        shapes = [grad._data.shape] + [tuple(x.shape) for x in operands]
        grads = []
        for index, needed in enumerate(ctx.needs_input_grad):
            if not needed:
                grads.append(None)
                continue
            equation, constants = _gradient_equation(inputs, output, index, shapes, grad._data)
            others = [x for j, x in enumerate(operands) if j != index]
            grads.append(_einsum_op(len(others) + len(constants) + 1).apply(
                grad, *others, *constants, equation=equation))
        return tuple(grads)


@functools.cache
def _einsum_op(count: int) -> type:
    """The Einsum op for ``count`` operands (``saved_inputs`` lists each of them): linear for
    one operand (a sum, trace, transpose ...), multilinear (so not linear) for more."""
    return type("Einsum", (Einsum,), {"saved_inputs": tuple(range(count)),
                                      "linear": count == 1,
                                      "__doc__": Einsum.__doc__, "__module__": __name__})


def _gradient_equation(inputs: list, output: str, index: int, shapes: list,
                       grad: xp.ndarray) -> tuple:
    """The einsum equation taking (grad, the other operands, constants) to the gradient of
    operand ``index``, and those constants (made like ``grad``, in its dtype); ``shapes`` are
    grad's, then each operand's."""
    dtype = grad.dtype
    target = inputs[index]
    terms = [output] + [subscripts for j, subscripts in enumerate(inputs) if j != index]
    term_shapes = [shapes[0]] + [shape for j, shape in enumerate(shapes[1:]) if j != index]
    sizes: dict = {}  # the (broadcast) size each label has in the einsum before constants
    for subscripts, shape in zip(terms, term_shapes):
        for label, size in zip(subscripts, shape):
            if sizes.get(label, 1) == 1:
                sizes[label] = size
    spare = (letter for letter in string.ascii_letters
             if letter not in set(output).union(*inputs))
    constants, result = [], ""
    for label, size in zip(target, shapes[index + 1]):
        if label in result:  # repeated: the gradient lands on the diagonal only
            twin = next(spare)
            terms.append(label + twin)
            constants.append(xp.eye(size, dtype=dtype, like=grad))
            result += twin
            continue
        result += label
        if label not in sizes or sizes[label] != size != 1:
            # summed in this operand only, or broadcast from size 1 in the others: ones spread
            # the gradient over this dim (a size-1 dim the engine sums back itself)
            terms.append(label)
            constants.append(xp.ones(size, dtype=dtype, like=grad))
    return ",".join(terms) + "->" + result, constants


def _split_subscripts(term: str, position: str) -> tuple:
    """(labels before the ellipsis, whether there is one, labels after it) of one term."""
    pieces = term.split("...")
    if len(pieces) > 2:
        raise RuntimeError(f"einsum(): found '.' for {position} for which an ellipsis was "
                           f"already found")
    for piece in pieces:
        for char in piece:
            if char == ".":
                raise RuntimeError(f"einsum(): found '.' for {position} that is not part of any "
                                   f"ellipsis")
            if char not in string.ascii_letters:
                raise RuntimeError(f"einsum(): invalid subscript {char!r} given in the equation "
                                   f"string for {position}, subscripts must be in [a-zA-Z]")
    return pieces[0], len(pieces) == 2, pieces[-1] if len(pieces) == 2 else ""


def _parse_equation(equation: str, shapes: list) -> tuple:
    """(input subscripts, output subscripts) with each ellipsis written out as letters, after
    torch's checks of the equation against the operand shapes."""
    equation = equation.replace(" ", "")
    lhs, arrow, rhs = equation.partition("->")
    terms = lhs.split(",")
    if len(terms) != len(shapes):
        more_or_fewer = "more" if len(shapes) > len(terms) else "fewer"
        raise RuntimeError(f"einsum(): {more_or_fewer} operands were provided than specified in "
                           f"the equation ({len(shapes)} operands for {len(terms)} terms)")
    parsed = [_split_subscripts(term, f"operand {i}") for i, term in enumerate(terms)]
    ellipsis_dims = 0
    for i, ((before, has_ellipsis, after), shape) in enumerate(zip(parsed, shapes)):
        count = len(before) + len(after)
        if not has_ellipsis and count != len(shape):
            raise RuntimeError(f"einsum(): the number of subscripts in the equation ({count}) "
                               f"does not match the number of dimensions ({len(shape)}) for "
                               f"operand {i} and no ellipsis was given")
        if count > len(shape):
            raise RuntimeError(f"einsum(): the number of subscripts in the equation ({count}) "
                               f"is more than the number of dimensions ({len(shape)}) for "
                               f"operand {i}")
        if has_ellipsis:
            ellipsis_dims = max(ellipsis_dims, len(shape) - count)
    used = set(equation)
    spare = [letter for letter in string.ascii_letters if letter not in used]
    if ellipsis_dims > len(spare):
        raise RuntimeError("einsum(): too many dimensions: at most 52 distinct subscripts")
    ellipsis = "".join(spare[:ellipsis_dims])
    inputs = []
    for (before, has_ellipsis, after), shape in zip(parsed, shapes):
        own = len(shape) - len(before) - len(after) if has_ellipsis else 0
        # an operand's ellipsis is the trailing part of the broadcast ellipsis dims
        inputs.append(before + ellipsis[ellipsis_dims - own:] + after)
    labels = "".join(before + after for before, _, after in parsed)
    if arrow:
        before, has_ellipsis, after = _split_subscripts(rhs, "the output")
        output = before + (ellipsis if has_ellipsis else "") + after
        for label in before + after:
            if (before + after).count(label) > 1:
                raise RuntimeError(f"einsum(): output subscript {label} appears more than once "
                                   f"in the output")
            if label not in labels:
                raise RuntimeError(f"einsum(): output subscript {label} does not appear in the "
                                   f"equation for any input operand")
    else:  # implicit output: the ellipsis dims, then the labels used once, alphabetically
        output = (ellipsis if any(p[1] for p in parsed) else "") + "".join(
            sorted(label for label in set(labels) if labels.count(label) == 1))
    _check_sizes(inputs, shapes)
    return inputs, output


def _check_sizes(inputs: list, shapes: list) -> None:
    """A label's sizes must agree within an operand and broadcast (equal or 1) across them."""
    sizes: dict = {}
    for i, (subscripts, shape) in enumerate(zip(inputs, shapes)):
        own: dict = {}
        for label, size in zip(subscripts, shape):
            if own.setdefault(label, size) != size:
                raise RuntimeError(f"einsum(): subscript {label} is repeated for operand {i} but "
                                   f"the sizes don't match, {own[label]} != {size}")
            seen = sizes.get(label)
            if seen is None or seen == 1:
                sizes[label] = size
            elif size not in (1, seen):
                raise RuntimeError(f"einsum(): subscript {label} has size {size} for operand {i} "
                                   f"which does not broadcast with previously seen size {seen} "
                                   f"(operand shapes {[list(s) for s in shapes]})")


def einsum(equation: str, *operands) -> Tensor:
    """Einstein summation: ``equation`` names each operand's dims by letters; letters missing
    from the output (after ``->``, or, without it, those used more than once) are summed.
    ``...`` stands for broadcast dims; operands may also be given as one list.

    Example::

        >>> x, y = leafgrad.ones(4, 2, 3), leafgrad.ones(4, 3, 5)
        >>> leafgrad.einsum("bij,bjk->bik", x, y).shape  # batched matmul
        torch.Size([4, 2, 5])
    """
    if not isinstance(equation, str):
        raise TypeError("einsum(): the first argument must be the equation string (the sublist "
                        "format is not supported)")
    if len(operands) == 1 and isinstance(operands[0], (list, tuple)):
        operands = tuple(operands[0])
    for i, operand in enumerate(operands):
        if not isinstance(operand, Tensor):
            raise TypeError(f"einsum(): operand {i} is a {type(operand).__name__}, expected a "
                            f"Tensor")
    inputs, output = _parse_equation(equation, [x._data.shape for x in operands])
    dtypes = {x._data.dtype for x in operands}
    if len(dtypes) > 1:
        raise RuntimeError(f"einsum(): expected all operands to have the same dtype, but got "
                           f"{[x.dtype for x in operands]}; convert them with .to()")
    if (len(operands) == 1 and is_integral(operands[0]._data.dtype, include_bool=True)
            and set(inputs[0]) - set(output)):
        # as torch, which sums a single operand's dims with sum(): integers and bools give int64
        operands = (operands[0].long(),)
    return _einsum_op(len(operands)).apply(*operands,
                                           equation=",".join(inputs) + "->" + output)


def tensordot(a: Tensor, b: Tensor, dims=2) -> Tensor:
    """Contract the last ``dims`` dims of ``a`` with the first ``dims`` of ``b``, or the dims
    listed in ``dims = (dims_of_a, dims_of_b)``; the other dims of ``a``, then of ``b``, remain.
    """
    expect_tensor(a, "tensordot", "a")
    expect_tensor(b, "tensordot", "b", 2)
    if a._data.dtype != b._data.dtype:
        raise RuntimeError(f"both inputs should have same dtype, but got {a.dtype} and "
                           f"{b.dtype}; convert one with .to(other.dtype)")
    if isinstance(dims, Tensor):
        dims = dims.tolist()
    if isinstance(dims, numbers.Integral):
        if dims < 0:
            raise RuntimeError(f"tensordot expects dims >= 0, but got dims={dims}")
        if dims > a._data.ndim or dims > b._data.ndim:
            raise RuntimeError(f"tensordot expects dims < ndim_a or ndim_b, but got dims={dims} "
                               f"for shapes {list(a.shape)} and {list(b.shape)}")
        dims_a = list(range(a._data.ndim - dims, a._data.ndim))
        dims_b = list(range(dims))
    else:
        dims_a, dims_b = ([d] if isinstance(d, numbers.Integral) else list(d) for d in dims)
        if len(dims_a) != len(dims_b):
            raise RuntimeError(f"both dimension lists should have same length, got {dims_a} and "
                               f"{dims_b}")
        dims_a = [_normalize_dim(d, a._data.ndim) for d in dims_a]
        dims_b = [_normalize_dim(d, b._data.ndim) for d in dims_b]
    for dim_a, dim_b in zip(dims_a, dims_b):
        if a._data.shape[dim_a] != b._data.shape[dim_b]:
            raise RuntimeError(f"contracted dimensions need to match, but first has size "
                               f"{a._data.shape[dim_a]} in dim {dim_a} and second has size "
                               f"{b._data.shape[dim_b]} in dim {dim_b}")
    letters = iter(string.ascii_letters)
    a_labels = [next(letters) for _ in range(a._data.ndim)]
    b_labels = [next(letters) for _ in range(b._data.ndim)]
    for dim_a, dim_b in zip(dims_a, dims_b):
        b_labels[dim_b] = a_labels[dim_a]
    kept = [label for i, label in enumerate(a_labels) if i not in dims_a] + \
        [label for i, label in enumerate(b_labels) if i not in dims_b]
    return einsum(f"{''.join(a_labels)},{''.join(b_labels)}->{''.join(kept)}", a, b)


def _matmul_operator(self: Tensor, other):
    """``self @ other``: NumPy arrays become tensors; for other types (lists included, as torch)
    NotImplemented, so that Python tries the other operand."""
    if is_array(other):
        other = _tensor_from_data(other)
    if not isinstance(other, Tensor):
        return NotImplemented
    return matmul(self, other)


def _reflected_matmul_operator(self: Tensor, other):
    if is_array(other):
        return matmul(_tensor_from_data(other), self)
    return NotImplemented


TENSOR_METHODS = {
    "matmul": matmul, "mm": mm, "bmm": bmm, "dot": dot, "outer": outer, "addmm": addmm,
    "__matmul__": _matmul_operator, "__rmatmul__": _reflected_matmul_operator,
}
