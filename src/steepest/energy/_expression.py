"""Safe compilation of user-written energy expressions into JAX functions.

Scenario files give energies as strings such as ``"(x**2 - 1)**2 + y**2"``. Those strings are
written by other people, so they are never handed to ``eval``, ``exec`` or ``compile``: the text
is only parsed by :func:`ast.parse` (which builds a syntax tree and runs nothing), and the tree is
walked against an explicit whitelist that turns each node into a small closure calling
:mod:`jax.numpy`. Nothing is computed at parse time, not even ``2**3``: all arithmetic happens in
JAX when the expression is called, so ``9**9**9**9`` compiles at once and evaluates to ``inf``.

Grammar (Python precedence, ``**`` binds right to left; anything else is refused)::

    expr := expr ('+' | '-' | '*' | '/' | '**') expr
          | ('-' | '+') expr
          | '(' expr ')'
          | NUMBER                      int or float literal (becomes a Python float)
          | NAME                        a variable, a param, or the constants pi and e
          | FUNC '(' expr [',' expr] ')'  a function of FUNCTIONS, positional args, exact arity

A literal integer exponent from 0 to 64 stays an int, so ``x**2`` is JAX's exact integer power;
every other number is a Python float, so the dtype follows ``x`` and the x64 setting.

Limits: at most 10,000 characters and 200 levels of nesting. Every refusal is a
:class:`~steepest._core.errors.ScenarioError` whose message starts with the scenario key and
quotes the offending token.
"""

from __future__ import annotations

import ast
import keyword
import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import jax
import jax.numpy as jnp
import jax.scipy.special

from .._core.errors import ScenarioError

MAX_LENGTH = 10_000
MAX_DEPTH = 200
_MAX_INFERRED_DIM = 10_000

_UNARY_NAMES = (
    "exp log log10 log2 log1p expm1 sqrt cbrt square sin cos tan arcsin arccos arctan "
    "sinh cosh tanh arcsinh arccosh arctanh abs sign floor ceil"
)
#: Whitelisted functions: name -> (JAX function, number of positional arguments).
FUNCTIONS: dict[str, tuple[Callable[..., Any], int]] = {
    n: (getattr(jnp, n), 1) for n in _UNARY_NAMES.split()
}
FUNCTIONS |= {"a" + n[3:]: FUNCTIONS[n] for n in _UNARY_NAMES.split() if n.startswith("arc")}
FUNCTIONS |= {"erf": (jax.scipy.special.erf, 1), "sigmoid": (jax.nn.sigmoid, 1)}
FUNCTIONS |= {"softplus": (jax.nn.softplus, 1), "hypot": (jnp.hypot, 2), "pow": (jnp.power, 2)}
_PAIRS: list[tuple[Callable[..., Any], str]] = [
    (jnp.arctan2, "atan2 arctan2"),
    (jnp.minimum, "min minimum"),
    (jnp.maximum, "max maximum"),
]
FUNCTIONS |= {n: (f, 2) for f, names in _PAIRS for n in names.split()}
CONSTANTS: dict[str, float] = {"pi": math.pi, "e": math.e}

# Operators are applied with jnp functions, never Python operators on Python floats: `1/0` or
# `9.0**1e9` would raise in Python, whereas JAX returns inf like any other float computation.
_BINARY: dict[type, Callable[..., Any]] = {
    ast.Add: jnp.add,
    ast.Sub: jnp.subtract,
    ast.Mult: jnp.multiply,
}
_BINARY |= {ast.Div: jnp.true_divide, ast.Pow: jnp.power}
_UNARY: dict[type, Callable[..., Any]] = {ast.USub: jnp.negative, ast.UAdd: jnp.positive}

# Refused operators and node kinds: the token quoted to the user, and what it is.
_BAD: dict[type, tuple[str, str]] = {
    ast.BitXor: ("^", "bitwise xor; use ** for powers"),
    ast.FloorDiv: ("//", "floor division; use floor(a / b)"),
    ast.Mod: ("%", "modulo"),
    ast.MatMult: ("@", "matrix product"),
    ast.Subscript: ("[", "subscript; name the components as variables instead"),
    ast.IfExp: ("if", "conditional expression; use min, max, abs or sign"),
    ast.Tuple: (",", "tuple"),
}
_BAD |= {op: (t, "bitwise operator") for op, t in [(ast.BitAnd, "&"), (ast.BitOr, "|"),
         (ast.LShift, "<<"), (ast.RShift, ">>"), (ast.Invert, "~")]}  # fmt: skip
_BAD |= {op: (t, "boolean operator") for op, t in [(ast.Not, "not"), (ast.And, "and"),
         (ast.Or, "or")]}  # fmt: skip
_BAD |= {op: (t, "comparison") for op, t in [(ast.Eq, "=="), (ast.NotEq, "!="), (ast.Lt, "<"),
         (ast.LtE, "<="), (ast.Gt, ">"), (ast.GtE, ">="), (ast.Is, "is"), (ast.IsNot, "is not"),
         (ast.In, "in"), (ast.NotIn, "not in")]}  # fmt: skip
_BAD |= {n: ("for", "comprehension") for n in (ast.ListComp, ast.SetComp, ast.DictComp)}
_BAD |= {ast.GeneratorExp: ("for", "comprehension"), ast.Lambda: ("lambda", "function")}
_BAD |= {ast.List: ("[", "list"), ast.Set: ("{", "set"), ast.Dict: ("{", "dict")}
_BAD |= {ast.Starred: ("*", "starred argument"), ast.NamedExpr: (":=", "assignment")}
_BAD |= {ast.Slice: (":", "slice"), ast.Await: ("await", "await")}
_GRAMMAR = "only numbers, names, + - * / **, parentheses and calls of known functions are allowed"


@dataclass(frozen=True)
class Expression:
    """A compiled expression: ``expr(x)`` maps a state of shape ``(len(variables),)`` to a scalar.

    The call is a pure JAX function (``jit``, ``grad``, ``vmap`` and ``hessian`` all work).
    An expression without variables is constant and accepts any one-dimensional ``x``.
    """

    text: str
    variables: tuple[str, ...]
    params: dict[str, float]
    _fn: Callable[[Any], Any] = field(repr=False, compare=False)

    def __hash__(self) -> int:  # params is a dict, so the generated hash would fail
        return hash((self.text, self.variables, tuple(sorted(self.params.items()))))

    def __call__(self, x: Any) -> jax.Array:
        x = jnp.asarray(x)
        if not jnp.issubdtype(x.dtype, jnp.inexact):
            x = x.astype(float)  # integer states would make ** and / integer-typed
        if x.ndim != 1 or (self.variables and x.shape[0] != len(self.variables)):
            raise ScenarioError(
                f"x: expected a state of shape ({len(self.variables)},) for variables "
                f"{', '.join(self.variables)} of {self.text!r}, got shape {x.shape}.",
                key="x",
            )
        # A constant expression returns a Python float; make it a scalar array of x's dtype.
        return jnp.asarray(self._fn(x), dtype=x.dtype)


def _fail(key: str, message: str) -> ScenarioError:
    return ScenarioError(f"{key}: {message}", key=key)


class _Builder:
    """Walks the tree; ``index`` None is a first pass that only collects the free names."""

    def __init__(self, text: str, key: str, index: dict[str, int] | None, consts: dict):
        self.text, self.key, self.index, self.consts = text, key, index, consts
        self.free: set[str] = set()

    def snippet(self, node: ast.AST) -> str:
        s = ast.get_source_segment(self.text, node) or type(node).__name__
        return s if len(s) <= 40 else s[:37] + "..."

    def refuse(self, node: ast.AST, token: str, what: str) -> ScenarioError:
        where = self.snippet(node)
        return _fail(self.key, f"'{token}' is not allowed in {where!r} ({what}); {_GRAMMAR}.")

    def unknown(self, name: str, what: str) -> ScenarioError:
        variables = ", ".join(self.index or ()) or "(none)"
        params = ", ".join(n for n in self.consts if n not in CONSTANTS) or "(none)"
        return _fail(
            self.key,
            f"'{name}' is not allowed ({what}); allowed variables: {variables}; "
            f"params: {params}; constants: pi, e; functions: {', '.join(FUNCTIONS)}. "
            "Fix the expression or list the name in variables/params.",
        )

    def build(self, node: ast.AST, depth: int) -> Callable[[Any], Any]:
        # Checked before recursing, so Python's own recursion never goes deeper than this.
        if depth > MAX_DEPTH:
            raise _fail(
                self.key,
                f"the expression is nested more than {MAX_DEPTH} levels deep "
                f"(at {self.snippet(node)!r}); simplify it.",
            )
        depth += 1
        if isinstance(node, ast.Constant | ast.JoinedStr):
            value = getattr(node, "value", "")
            if type(value) not in (int, float):  # exact types: bool is an int subclass
                kind = "f-string" if isinstance(node, ast.JoinedStr) else type(value).__name__
                what = f"{self.snippet(node)} ({kind} literal)"
                raise _fail(self.key, f"{what} is not allowed; only int and float numbers are.")
            try:
                c = float(value)
            except OverflowError:  # an integer literal too large for a float
                c = math.inf
            return lambda x: c
        if isinstance(node, ast.Name):
            return self.name(node)
        if isinstance(node, ast.BinOp | ast.UnaryOp | ast.BoolOp | ast.Compare):
            op = node.ops[0] if isinstance(node, ast.Compare) else node.op
            if type(op) in _BAD:
                raise self.refuse(node, *_BAD[type(op)])
        if isinstance(node, ast.BinOp):
            f, a = _BINARY[type(node.op)], self.build(node.left, depth)
            r = node.right
            rv = getattr(r, "value", None)
            if isinstance(node.op, ast.Pow) and type(rv) is int:
                if 0 <= rv <= 64:  # small literal powers: exact lax.integer_pow in jnp
                    n = rv
                    return lambda x: jnp.power(a(x), n)
            b = self.build(r, depth)
            return lambda x: f(a(x), b(x))
        if isinstance(node, ast.UnaryOp):
            f, a = _UNARY[type(node.op)], self.build(node.operand, depth)
            return lambda x: f(a(x))
        if isinstance(node, ast.Call):
            return self.call(node, depth)
        if isinstance(node, ast.Attribute):
            raise self.refuse(node, "." + node.attr, "attribute access")
        token, what = _BAD.get(type(node), (type(node).__name__, "unsupported syntax"))
        raise self.refuse(node, token, what)

    def name(self, node: ast.Name) -> Callable[[Any], Any]:
        n = node.id
        if n in FUNCTIONS:
            raise _fail(self.key, f"'{n}' is a function, not a value; call it, e.g. '{n}(x)'.")
        if n in self.consts:
            c = self.consts[n]
            return lambda x: c
        if self.index is None:  # first pass: remember the name, the value does not matter
            self.free.add(n)
            return lambda x: 0.0
        if n not in self.index:
            raise self.unknown(n, "unknown name")
        i = self.index[n]
        return lambda x: x[i]

    def call(self, node: ast.Call, depth: int) -> Callable[[Any], Any]:
        func = node.func
        if not isinstance(func, ast.Name):
            self.build(func, depth)  # reports attribute access, subscripts... by their own token
            raise self.refuse(node, self.snippet(func), "only named functions can be called")
        name = func.id
        if name not in FUNCTIONS:
            if name in (self.index or ()) or name in self.consts:
                kind = "variable" if name in (self.index or ()) else "constant"
                raise _fail(
                    self.key,
                    f"'{name}' is a {kind}, not a function; it cannot be "
                    "called. Use '*' for products, e.g. 'x*(1 + y)'.",
                )
            raise self.unknown(name, "unknown function")
        f, arity = FUNCTIONS[name]
        for kw in node.keywords:
            token = "**" if kw.arg is None else f"{kw.arg}="
            raise self.refuse(node, token, f"keyword argument; '{name}' takes positional ones")
        for arg in node.args:
            if isinstance(arg, ast.Starred):
                raise self.refuse(arg, "*", "starred argument")
        if len(node.args) != arity:
            raise _fail(
                self.key,
                f"'{name}' takes {arity} argument{'s' * (arity > 1)}, got "
                f"{len(node.args)} (in {self.snippet(node)!r}).",
            )
        args = [self.build(arg, depth) for arg in node.args]
        if arity == 1:
            (a,) = args
            return lambda x: f(a(x))
        a, b = args
        return lambda x: f(a(x), b(x))


def infer_variables(names: set[str], *, key: str = "energy.expression") -> tuple[str, ...]:
    """The state variables implied by the free names of an expression.

    ``x, y, z``: the smallest prefix of ``("x", "y", "z")`` covering the names (so ``y**2`` gives
    ``("x", "y")``). ``x0, x1, ...`` or ``x1, x2, ...``: every index from 0 (if ``x0`` is used) or
    1 up to the largest used, in order. Anything else needs explicit ``variables``.
    """
    if not names:
        return ()
    if names <= {"x", "y", "z"}:
        return ("x", "y", "z")[: max("xyz".index(n) for n in names) + 1]
    if all(re.fullmatch(r"x(0|[1-9][0-9]*)", n) for n in names):
        indices = {int(n[1:]) for n in names}
        first, last = min(min(indices), 1), max(indices)
        if last - first < _MAX_INFERRED_DIM:
            return tuple(f"x{i}" for i in range(first, last + 1))
    listed = ", ".join(f"'{n}'" for n in sorted(names))
    raise _fail(
        key,
        f"cannot infer the state variables from the names {listed}; give them "
        "explicitly in variables (in state order), or their values in params.",
    )


def _check_names(names: Sequence[str], what: str, taken: set[str], key: str) -> None:
    for n in names:
        if not isinstance(n, str) or not n.isidentifier() or keyword.iskeyword(n):
            raise _fail(key, f"{what} name {n!r} is not a valid identifier.")
        clash = "a function" if n in FUNCTIONS else "a constant" if n in CONSTANTS else None
        if clash or n in taken:
            clash = clash or "already a variable or param"
            raise _fail(key, f"{what} name '{n}' is {clash}; choose another name.")
        taken.add(n)


def compile_expression(
    text: str,
    variables: Sequence[str] | None = None,
    *,
    params: Mapping[str, float] | None = None,
    key: str = "energy.expression",
) -> Expression:
    """Compile ``text`` into an :class:`Expression` of ``variables`` (inferred when None).

    ``params`` are named constants. Raises :class:`ScenarioError` (message starting with ``key``)
    for anything outside the grammar of this module; the text itself is never executed.
    """
    if not isinstance(text, str):
        raise _fail(key, f"the expression must be a string, got {type(text).__name__}.")
    if len(text) > MAX_LENGTH:
        raise _fail(
            key, f"the expression is {len(text)} characters long; the limit is {MAX_LENGTH}."
        )
    body = text.strip()  # surrounding whitespace would be an IndentationError in eval mode
    if not body:
        raise _fail(key, "the expression is empty; write e.g. '(x**2 - 1)**2 + y**2'.")
    params = dict(params or {})
    taken: set[str] = set()
    _check_names(list(params), "param", taken, key)
    for n, v in params.items():
        try:
            if isinstance(v, bool | str | bytes):
                raise TypeError
            params[n] = float(v)
        except (TypeError, ValueError):
            raise _fail(key, f"param '{n}' must be a real number, got {v!r}.") from None
    if variables is not None:
        variables = tuple(variables)
        _check_names(variables, "variable", taken, key)
    try:
        tree = ast.parse(body, mode="eval")  # builds a tree only; nothing is executed
    except SyntaxError as exc:
        line, col = exc.lineno or 1, max(exc.offset or 1, 1)
        lines = body.splitlines() or [""]
        near = lines[min(line, len(lines)) - 1][col - 1 : col + 19]
        where = f"line {line}, column {col}" if len(lines) > 1 else f"column {col}"
        hint = " Wrap a multi-line expression in parentheses." if len(lines) > 1 else ""
        raise _fail(key, f"syntax error at {where} near {near!r}: {exc.msg}.{hint}") from None
    except (MemoryError, RecursionError, ValueError):
        raise _fail(key, "the expression is too deeply nested to parse; simplify it.") from None
    consts = {**CONSTANTS, **params}
    if variables is None:
        probe = _Builder(body, key, None, consts)
        probe.build(tree.body, 0)
        variables = infer_variables(probe.free, key=key)
    index = {n: i for i, n in enumerate(variables)}
    fn = _Builder(body, key, index, consts).build(tree.body, 0)
    return Expression(text=text, variables=variables, params=params, _fn=fn)
