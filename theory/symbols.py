"""The SymPy symbols shared by every formula (all positive reals)."""

import sympy as sp

Delta = sp.Symbol("Delta", positive=True)        # oracle inexactness Δ
L_F = sp.Symbol("L_F", positive=True)            # gradient-Lipschitz constant
rho_F = sp.Symbol("rho_F", positive=True)        # Hessian-Lipschitz constant
d = sp.Symbol("d", positive=True)                # dimension
delta = sp.Symbol("delta", positive=True)        # failure probability δ
gap = sp.Symbol("F_gap", positive=True)          # F_0 − F*
eps = sp.Symbol("epsilon", positive=True)        # target accuracy ε (exact oracle)
Q = sp.Symbol("Q", positive=True)                # number of perturbation rounds
T = sp.Symbol("T_th", positive=True)             # steps per perturbation round
