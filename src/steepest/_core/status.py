"""Per-trajectory status codes, shared by the compiled loops and the Python front end."""

RUNNING = 0
DONE = 1  # reached t1
CONVERGED = 2  # |∇V| fell below grad_tol
NONFINITE = 3  # a step produced a non-finite value
ENERGY_INCREASE = 4  # the energy rose beyond round-off
SOLVER_FAILED = 5  # an implicit step's Newton solve failed even after step halving
MAX_STEPS = 6  # an adaptive solver used up max_steps

NAMES = {
    RUNNING: "running",
    DONE: "done",
    CONVERGED: "converged",
    NONFINITE: "non-finite",
    ENERGY_INCREASE: "energy-increase",
    SOLVER_FAILED: "solver-failed",
    MAX_STEPS: "max-steps",
}
FAILED = (NONFINITE, ENERGY_INCREASE, SOLVER_FAILED, MAX_STEPS)
