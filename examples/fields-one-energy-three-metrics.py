"""One free energy, three metrics: the double well ¼(1 − c²)² + ½|∇c|² is Allen–Cahn in L² and
Cahn–Hilliard in H⁻¹; entropy + potential is Fokker–Planck in the Wasserstein metric.

Run: python examples/fields-one-energy-three-metrics.py [OUTDIR]   (writes energies.png)
"""

import sys
import tempfile
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from steepest import fields as sf  # noqa: E402

out = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(tempfile.mkdtemp())
grid = sf.SpectralGrid((48, 48), (32.0, 32.0))
c0 = 0.1 * np.random.default_rng(0).standard_normal(grid.shape)
F = sf.ginzburg_landau()
fig, ax = plt.subplots(figsize=(6, 4))
for flow in (sf.L2Flow(grid, F), sf.HMinus1Flow(grid, F)):
    sol = sf.evolve(flow, c0, 30.0, dt=0.5, scheme="etdrk2", adaptive="error", rtol=1e-3,
                    n_save=41, save_fields=False)  # fmt: skip
    drift = abs(sol.mass[-1] - sol.mass[0])
    print(f"{flow.metric:>3}: F {sol.energy[0]:.3f} -> {sol.energy[-1]:.3f}, "
          f"|Δ∫c| = {drift:.1e}, {sol.stats['steps']} steps")  # fmt: skip
    print("     ", flow.expression())
    ax.semilogy(sol.t, sol.energy - sol.energy.min() + 1e-3, label=flow.metric)

line = sf.FiniteVolumeGrid((120,), (8.0,), origin=-4.0, boundary="no-flux")
(x,) = line.coordinates()
fp = sf.WassersteinFlow(line, sf.entropy_potential(lambda x: (x**2 - 1) ** 2, kT=0.5))
rho0 = np.where(np.abs(x + 1) < 0.5, 1.0, 0.0)
sol = sf.evolve(fp, rho0, 5.0, dt=1.0, scheme="explicit", n_save=41)
b = np.exp(-((x**2 - 1) ** 2) / 0.5)
b /= b.sum() * line.cell_volume
print(f"Fokker–Planck: min ρ(t > 0) = {sol.fields[1:].min():.1e}, L¹ to Boltzmann at t = 5: "
      f"{np.abs(sol.final - b).sum() * line.cell_volume:.3f}")  # fmt: skip
ax.set_xlabel("t")
ax.set_ylabel("F − min F")
ax.legend()
fig.savefig(out / "energies.png", dpi=100)
print(f"wrote {out / 'energies.png'}")
