"""The sections of the tour, in the order of the page (one module each)."""

SECTIONS = {
    "flux": "Flux follows the gradient",
    "downhill": "Downhill on a landscape",
    "map": "Reading the map",
    "learning": "Learning is a flow",
    "functions": "Flows of functions",
    "metric": "The metric decides the path",
    "laplacian": "The Laplacian is the divergence of the gradient",
    "geometry": "Geometry flows downhill too",
}
