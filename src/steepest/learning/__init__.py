"""Learning as a gradient flow: gradient descent is explicit Euler on dθ/dt = −∇L(θ).

Losses over real data as potentials, curvature and stability limits, trajectories beside their
flow, and optimisers as discretisations of ODEs.
"""
