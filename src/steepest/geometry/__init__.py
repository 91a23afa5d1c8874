"""Geometric flows: curves, surfaces, maps into S² and surface metrics flowing down their energies.

Curve shortening (length), mean curvature flow (area), harmonic map heat flow (Dirichlet energy)
and Ricci flow on surfaces (conformal factor).
"""
