"""Tests of the whitelist expression compiler (steepest.energy._expression)."""

import jax

jax.config.update("jax_enable_x64", True)

import ast  # noqa: E402
import builtins  # noqa: E402
import os  # noqa: E402
import time  # noqa: E402

import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import scipy.special  # noqa: E402

from steepest._core.errors import ScenarioError  # noqa: E402
from steepest.energy._expression import (  # noqa: E402
    FUNCTIONS,
    Expression,
    compile_expression,
    infer_variables,
)

KEY = "energy.expression"
PWNED = "/tmp/PWNED_steepest"

# ---------------------------------------------------------------------------------------------
# Correctness
# ---------------------------------------------------------------------------------------------

# (text, kwargs, expected variables, hand-written reference, sampler of points)
CASES = [
    ("(x**2 - 1)**2 + y**2", {}, ("x", "y"), lambda v: (v[0] ** 2 - 1) ** 2 + v[1] ** 2, None),
    ("-x**2", {}, ("x",), lambda v: -(v[0] ** 2), None),
    ("2**-1 * x", {}, ("x",), lambda v: 0.5 * v[0], None),
    ("x**y**2", {}, ("x", "y"), lambda v: v[0] ** (v[1] ** 2), "positive"),
    (
        "x - y - z + x / y / z",
        {},
        ("x", "y", "z"),
        lambda v: v[0] - v[1] - v[2] + v[0] / v[1] / v[2],
        "positive",
    ),  # fmt: skip
    ("+x - -y * 3", {}, ("x", "y"), lambda v: v[0] + v[1] * 3, None),
    (
        "sin(x)*exp(-y**2/2) + a*x",
        {"params": {"a": 0.3}},
        ("x", "y"),
        lambda v: jnp.sin(v[0]) * jnp.exp(-(v[1] ** 2) / 2) + 0.3 * v[0],
        None,
    ),
    (
        "x1*x2 + x3**3 - x4",
        {},
        ("x1", "x2", "x3", "x4"),
        lambda v: v[0] * v[1] + v[2] ** 3 - v[3],
        None,
    ),  # fmt: skip
    ("pi*x + e", {}, ("x",), lambda v: jnp.pi * v[0] + jnp.e, None),
    (
        "hypot(u, w) + atan2(w, u) + min(u, w) - max(u, w)*k",
        {"variables": ("u", "w"), "params": {"k": 2}},
        ("u", "w"),
        lambda v: (
            jnp.hypot(v[0], v[1])
            + jnp.arctan2(v[1], v[0])
            + jnp.minimum(v[0], v[1])
            - 2.0 * jnp.maximum(v[0], v[1])
        ),
        None,
    ),  # fmt: skip
    (
        "softplus(x0) * sigmoid(x2) + log(1 + x1**2)",
        {},
        ("x0", "x1", "x2"),
        lambda v: jax.nn.softplus(v[0]) * jax.nn.sigmoid(v[2]) + jnp.log(1 + v[1] ** 2),
        None,
    ),  # fmt: skip
    ("(x\n + y)", {}, ("x", "y"), lambda v: v[0] + v[1], None),
    ("  x*y  ", {}, ("x", "y"), lambda v: v[0] * v[1], None),
]


def _points(dim, kind, n=5, seed=0):
    rng = np.random.default_rng(seed)
    pts = rng.uniform(0.3, 1.5, (n, dim)) if kind == "positive" else rng.normal(size=(n, dim))
    return jnp.asarray(pts)


@pytest.mark.parametrize("text, kwargs, variables, reference, kind", CASES)
def test_values_and_gradients_match_hand_written(text, kwargs, variables, reference, kind):
    expr = compile_expression(text, **kwargs)
    assert isinstance(expr, Expression)
    assert expr.variables == variables
    for x in _points(len(variables), kind):
        value = expr(x)
        assert value.shape == () and value.dtype == jnp.float64
        np.testing.assert_allclose(value, reference(x), rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(jax.grad(expr)(x), jax.grad(reference)(x), rtol=1e-10)


def test_precedence_literals():
    one = jnp.zeros(1)
    assert compile_expression("-2**2")(one) == -4.0
    assert compile_expression("2**-1")(one) == 0.5
    assert compile_expression("2**3**2")(one) == 512.0  # right-associative
    assert compile_expression("(2**3)**2")(one) == 64.0
    assert compile_expression("1 + 2*3 - 4/8")(one) == 6.5
    assert compile_expression("-" * 150 + "3")(one) == 3.0  # deep but within the limit
    assert compile_expression("7")(one).shape == ()


# Arguments chosen inside each function's domain, and the numpy reference.
_NP = {
    **{n: (getattr(np, n), (0.37,)) for n in "exp log log10 log2 log1p expm1 sqrt cbrt".split()},
    **{n: (getattr(np, n), (0.37,)) for n in "square sin cos tan sinh cosh tanh".split()},
    **{n: (getattr(np, n), (0.37,)) for n in "arcsin arccos arctan arcsinh arctanh".split()},
    **{n: (getattr(np, "arc" + n[1:]), (0.37,)) for n in "asin acos atan asinh atanh".split()},
    "arccosh": (np.arccosh, (1.6,)),
    "acosh": (np.arccosh, (1.6,)),
    "abs": (np.abs, (-0.37,)),
    "sign": (np.sign, (-0.37,)),
    "floor": (np.floor, (2.7,)),
    "ceil": (np.ceil, (2.3,)),
    "erf": (scipy.special.erf, (0.37,)),
    "sigmoid": (scipy.special.expit, (0.37,)),
    "softplus": (lambda v: np.logaddexp(0.0, v), (0.37,)),
    **{n: (np.arctan2, (-0.4, 1.3)) for n in ("atan2", "arctan2")},
    "hypot": (np.hypot, (0.4, 1.3)),
    **{n: (np.minimum, (0.4, -1.3)) for n in ("min", "minimum")},
    **{n: (np.maximum, (0.4, -1.3)) for n in ("max", "maximum")},
    "pow": (np.power, (1.4, 1.3)),
}


def test_function_table_is_covered():
    assert set(_NP) == set(FUNCTIONS)


@pytest.mark.parametrize("name", sorted(_NP))
def test_every_function_matches_numpy(name):
    ref, args = _NP[name]
    names = ("x", "y")[: len(args)]
    expr = compile_expression(f"{name}({', '.join(names)})")
    assert expr.variables == names
    np.testing.assert_allclose(expr(jnp.asarray(args)), ref(*args), rtol=1e-13)
    assert np.isfinite(jax.grad(expr)(jnp.asarray(args))).all()


def test_params_constants_and_dtypes():
    expr = compile_expression("a*x**2 + b", ["x"], params={"a": 2, "b": np.float32(0.5)})
    assert expr.params == {"a": 2.0, "b": 0.5}
    assert all(type(v) is float for v in expr.params.values())
    assert expr(jnp.array([3.0])) == 18.5
    assert expr(jnp.array([3], dtype=jnp.int32)) == 18.5  # integer states become floats
    assert expr(jnp.array([3.0], dtype=jnp.float32)).dtype == jnp.float32
    const = compile_expression("2*pi", ["x", "y"])
    assert const(jnp.ones(2)).shape == () and const(jnp.ones(2)) == pytest.approx(2 * np.pi)
    assert compile_expression("1.5")(jnp.ones(3)).shape == ()  # no variables: any 1-D state
    assert hash(expr) == hash(compile_expression("a*x**2 + b", ["x"], params={"a": 2, "b": 0.5}))


def test_wrong_state_shape():
    expr = compile_expression("x*y")
    for bad in (jnp.ones(3), jnp.ones((2, 2)), jnp.ones(())):
        with pytest.raises(ScenarioError, match=r"shape \(2,\)"):
            expr(bad)


def test_variable_inference():
    assert infer_variables(set()) == ()
    assert infer_variables({"x"}) == ("x",)
    assert infer_variables({"y"}) == ("x", "y")
    assert infer_variables({"z", "x"}) == ("x", "y", "z")
    assert infer_variables({"x1", "x4"}) == ("x1", "x2", "x3", "x4")
    assert infer_variables({"x0", "x2"}) == ("x0", "x1", "x2")
    assert infer_variables({"x10", "x2"}) == tuple(f"x{i}" for i in range(1, 11))
    assert compile_expression("y**2").variables == ("x", "y")
    assert compile_expression("sin(x3) + x1").variables == ("x1", "x2", "x3")
    assert compile_expression("a*x", params={"a": 1.0}).variables == ("x",)
    for names in ({"a", "b"}, {"x", "x1"}, {"x01"}, {"w", "x"}, {"x99999999"}):
        with pytest.raises(ScenarioError, match="variables") as info:
            infer_variables(names)
        assert str(info.value).startswith(KEY) and sorted(names)[0] in str(info.value)


def test_jit_vmap_grad_hessian():
    expr = compile_expression("(x**2 - 1)**2 + y**2")
    reference = lambda v: (v[0] ** 2 - 1) ** 2 + v[1] ** 2
    xs = _points(2, None, n=7)
    np.testing.assert_allclose(jax.vmap(expr)(xs), jax.vmap(reference)(xs), rtol=1e-12)
    np.testing.assert_allclose(jax.jit(expr)(xs[0]), reference(xs[0]), rtol=1e-12)
    np.testing.assert_allclose(
        jax.jit(jax.vmap(jax.grad(expr)))(xs), jax.vmap(jax.grad(reference))(xs), rtol=1e-12
    )
    np.testing.assert_allclose(jax.hessian(expr)(xs[1]), jax.hessian(reference)(xs[1]), rtol=1e-12)
    # Constant expressions are traceable too, with a zero gradient.
    np.testing.assert_array_equal(jax.grad(compile_expression("3", ["x", "y"]))(xs[0]), 0.0)


def test_huge_power_compiles_fast_and_is_inf():
    start = time.perf_counter()
    expr = compile_expression("9**9**9**9")
    assert time.perf_counter() - start < 1.0
    assert expr(jnp.zeros(1)) == jnp.inf
    assert compile_expression("1/0")(jnp.zeros(1)) == jnp.inf
    assert compile_expression("1" + "0" * 400)(jnp.zeros(1)) == jnp.inf
    assert compile_expression("x * 1e999")(jnp.ones(1)) == jnp.inf


# ---------------------------------------------------------------------------------------------
# Hostile and malformed input: (text, token the message must quote, kwargs)
# ---------------------------------------------------------------------------------------------

HOSTILE = [
    (f"__import__('os').system('touch {PWNED}')", "'.system'", {}),
    ("__import__('os')", "'__import__'", {}),
    ("x.__class__", "'.__class__'", {}),
    ("().__class__.__bases__[0].__subclasses__()", "'.__subclasses__'", {}),
    ("x[0]", "'['", {}),
    ("x[1:2]", "'['", {}),
    ("lambda: 1", "'lambda'", {}),
    ("[c for c in ()]", "'for'", {}),
    ("exec('1')", "'exec'", {}),
    ("eval('1')", "'eval'", {}),
    ("open('f')", "'open'", {}),
    ("globals()", "'globals'", {}),
    ("x if y else 1", "'if'", {}),
    ("x < y", "'<'", {}),
    ("x == y", "'=='", {}),
    ("x and y", "'and'", {}),
    ("x or y", "'or'", {}),
    ("not x", "'not'", {}),
    ("~x", "'~'", {}),
    ("x | y", "'|'", {}),
    ("'a'", "'a'", {}),
    ("b'a'", "b'a'", {}),
    ("f'{x}'", "f'{x}'", {}),
    ("x^2", "use ** for powers", {}),
    ("x^2", "'^'", {}),
    ("x // 2", "'//'", {}),
    ("x % 2", "'%'", {}),
    ("x @ y", "'@'", {}),
    ("x := 1", ":=", {}),
    ("(x := 1)", "':='", {}),
    ("exp(x, y)", "'exp' takes 1 argument, got 2", {}),
    ("hypot(x)", "'hypot' takes 2 arguments, got 1", {}),
    ("exp(x=1)", "'x='", {}),
    ("exp(**x)", "'**'", {}),
    ("exp(*x)", "'*'", {}),
    ("sin", "'sin'", {}),
    ("x + exp", "'exp'", {}),
    ("x(1)", "'x' is a variable", {"variables": ("x",)}),
    ("pi(1)", "'pi' is a constant", {}),
    ("x(1)", "'x'", {}),
    ("exp(x)(y)", "'exp(x)'", {}),
    ("1j*x", "1j", {}),
    ("True + x", "True", {}),
    ("None", "None", {}),
    ("...", "...", {}),
    ("{1: 2}", "'{'", {}),
    ("{1, 2}", "'{'", {}),
    ("[1, 2]", "'['", {}),
    ("(1, 2)", "','", {}),
    ("await x", "'await'", {}),
    ("x; import os", "; import os", {}),
    ("x\nimport os", "import os", {}),
    ("import os", "import os", {}),
    ("x +", "column", {}),
    ("", "empty", {}),
    (" \n ", "empty", {}),
    ("x+" * 10_000, "20000 characters", {}),
    ("-(" * 500 + "x" + ")" * 500, "nested", {}),
    ("-" * 500 + "x", "nested more than 200 levels", {}),
    ("x+" * 300 + "x", "nested more than 200 levels", {}),
    ("foo(x)", "'foo'", {}),
    ("y", "'y'", {"variables": ("x",)}),
    ("a + b", "'a', 'b'", {}),
    ("x + x1", "'x', 'x1'", {}),
    ("x", "'x'", {"variables": ("x", "x")}),
    ("x", "'1x'", {"variables": ("1x",)}),
    ("x", "'lambda'", {"variables": ("lambda",)}),
    ("exp(x)", "'exp'", {"variables": ("exp",)}),
    ("x", "'pi'", {"params": {"pi": 3.0}}),
    ("x*a", "'x'", {"variables": ("x",), "params": {"x": 1.0}}),
    ("x*a", "'a'", {"params": {"a": "1"}}),
    ("x*a", "'a'", {"params": {"a": True}}),
    ("x\0", "null", {}),
]


@pytest.mark.parametrize("text, token, kwargs", HOSTILE, ids=[repr(h[0])[:40] for h in HOSTILE])
def test_hostile_input_is_refused_with_a_clear_message(text, token, kwargs):
    with pytest.raises(ScenarioError) as info:
        compile_expression(text, **kwargs)
    message = str(info.value)
    assert message.startswith(KEY + ": ")
    assert info.value.key == KEY
    assert token in message, message
    assert len(message) < 1000


def test_custom_key():
    with pytest.raises(ScenarioError, match=r"^potential\.V: '\^'") as info:
        compile_expression("x^2", key="potential.V")
    assert info.value.key == "potential.V"


def test_hostile_input_executes_nothing():
    if os.path.exists(PWNED):
        os.remove(PWNED)
    for text, _, kwargs in HOSTILE:
        with pytest.raises(ScenarioError):
            compile_expression(text, **kwargs)
    assert not os.path.exists(PWNED)


def test_no_eval_exec_or_code_compilation(monkeypatch):
    """Spy on the builtins: only ast.parse's tree-only compile (PyCF_ONLY_AST) may happen."""
    real_compile = builtins.compile
    calls = []

    def spy(name):
        def forbidden(*args, **kwargs):
            calls.append(name)
            raise AssertionError(f"{name} called")

        return forbidden

    def checked_compile(source, filename, mode, flags=0, *args, **kwargs):
        if not flags & ast.PyCF_ONLY_AST:
            calls.append("compile")
            raise AssertionError("compile called to produce code")
        return real_compile(source, filename, mode, flags, *args, **kwargs)

    monkeypatch.setattr(builtins, "eval", spy("eval"))
    monkeypatch.setattr(builtins, "exec", spy("exec"))
    monkeypatch.setattr(builtins, "compile", checked_compile)
    # The spies are live: a module that evaluated the text would be caught.
    with pytest.raises(AssertionError):
        eval("1")
    with pytest.raises(AssertionError):
        compile("1", "<s>", "eval")
    assert calls == ["eval", "compile"]
    calls.clear()
    good = compile_expression("(x**2 - 1)**2 + sin(y)*a", params={"a": 2.0})
    with pytest.raises(ScenarioError):
        compile_expression("__import__('os').getcwd()")
    assert calls == []
    monkeypatch.undo()
    assert float(good(jnp.array([2.0, 0.0]))) == 9.0
