"""Geometric flows: curves, surfaces, maps into S² and surface metrics flowing down their energies.

Each flow is the gradient flow of a named energy, reports it at every saved step, and checks
the invariants the mathematics promises:

* curve shortening (length) — :func:`curve_shortening`;
* mean curvature flow and its conformalised variant (area / Dirichlet energy) —
  :func:`mean_curvature_flow`.

Shapes: :mod:`steepest.geometry.curves` (circles, ellipses, polar curves) and
:mod:`steepest.geometry.meshes` (:class:`TriMesh`, icospheres, disks, tori, …).
"""

from . import curves as curves
from . import meshes as meshes
from .csf import curve_shortening as curve_shortening
from .mcf import mean_curvature_flow as mean_curvature_flow
from .meshes import TriMesh as TriMesh
from .record import GeometricSolution as GeometricSolution
