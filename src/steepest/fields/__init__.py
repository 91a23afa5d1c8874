"""Field gradient flows: a field c(x) on a grid flowing down a free-energy functional.

L² gives heat flow and Allen–Cahn, H⁻¹ gives Cahn–Hilliard, the Wasserstein metric gives
Fokker–Planck and the porous-medium equation; Fourier and Fick transport with entropy production.
"""
