"""Geometric flows: curves, surfaces, maps into S² and surface metrics flowing down their energies.

Each flow is the gradient flow of a named energy, reports it at every saved step, and checks
the invariants the mathematics promises (``sol.checks``):

* curve shortening (length) — :func:`curve_shortening`;
* mean curvature flow and its conformalised variant (area / Dirichlet energy) —
  :func:`mean_curvature_flow`;
* harmonic map heat flow into S² (½∫|∇u|²) on a grid or a mesh — :func:`harmonic_map_flow`,
  and its corotational reduction on the disk — :func:`corotational_flow`;
* Ricci flow of a conformal factor on a closed surface — :func:`ricci_flow_surface`;
* the discrete Ricci (Yamabe) flow of vertex scalings and conformal flattening —
  :func:`discrete_ricci_flow`;
* rotationally symmetric Ricci flow on S³ (Perelman's λ) — :func:`ricci_flow_s3`.

Shapes: :mod:`~steepest.geometry.curves` (circles, ellipses, polar curves),
:mod:`~steepest.geometry.meshes` (:class:`TriMesh`, icospheres, disks, tori, caps, …) and
:mod:`~steepest.geometry.sphere_maps` (stereographic and equivariant maps, degree).
"""

from . import curves as curves
from . import meshes as meshes
from . import sphere_maps as sphere_maps
from .corotational import corotational_flow as corotational_flow
from .csf import curve_shortening as curve_shortening
from .discrete_ricci import discrete_ricci_flow as discrete_ricci_flow
from .discrete_ricci import layout as layout
from .harmonic import harmonic_map_flow as harmonic_map_flow
from .map_domains import MapGrid as MapGrid
from .map_domains import MapMesh as MapMesh
from .mcf import mean_curvature_flow as mean_curvature_flow
from .meshes import TriMesh as TriMesh
from .record import GeometricSolution as GeometricSolution
from .ricci_s3 import ricci_flow_s3 as ricci_flow_s3
from .ricci_surface import conformal_curvature as conformal_curvature
from .ricci_surface import ricci_flow_surface as ricci_flow_surface
