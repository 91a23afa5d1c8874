"""The Python tour of steepest: energies, metrics, methods, batches, storage."""

import sys
import tempfile
from pathlib import Path

import numpy as np

import steepest as st

# an energy from the registry, from a function, or from an expression
V = st.potentials.get("muller-brown")
W = st.Potential(lambda x: (x[0] ** 2 - 1) ** 2 + x[1] ** 2, dim=2, bounds=((-2, 2), (-1.5, 1.5)))
U = st.Potential.from_expression("(x**2 - 1)**2 + y**2")

# a flow = energy + metric; integrate one start with an adaptive method …
flow = st.GradientFlow(V, metric=st.Euclidean())
sol = st.solve(flow, [-0.8, 1.2], t1=0.2, method="rk45", grad_tol=1e-8)
print(f"Müller–Brown: ended at {sol.x_final} with V = {sol.energy_final:.6f} ({sol.status})")

# … or a batch of starts as one compiled, vmapped loop
starts = np.random.default_rng(0).uniform([-1.5, -0.5], [1.2, 2.0], size=(1000, 2))
batch = st.solve(flow, starts, t1=0.2, method="rk4", h=1e-4, grad_tol=1e-6, n_save=21)
minima = np.unique(np.round(batch.x_final[batch.converged], 3), axis=0)
print(f"{batch.converged.sum()} of 1000 starts converged, to {len(minima)} minima:\n{minima}")

# same energy, three metrics: gradient descent, a preconditioner, a Riemannian metric
for metric in (st.Euclidean(), st.Preconditioned([[2.0, 0.0], [0.0, 1.0]]),
               st.Riemannian(lambda x: 1.0 + x**2, diagonal=True)):
    s = st.solve(st.GradientFlow(U, metric), [0.3, 1.0], t1=10.0, method="tsit5")
    print(f"{metric!r:40s} → {np.round(s.x_final, 6)}")

# gradient descent is explicit Euler: past 2/λ_max it diverges, and steepest says so
try:
    st.solve(st.potentials.get("quadratic", A=[[1.0, 0.0], [0.0, 100.0]]), [1.0, 1.0],
             t1=1.0, method="euler", h=0.05)
except st.FlowDiverged as err:
    print("euler:", err)

# results are xarray datasets; NetCDF or Zarr on disk
out = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(tempfile.mkdtemp())
path = batch.save(out / "batch.nc")
print(st.load(path).to_xarray())
