"""The joint loss: λ_a · generalised KL(X ‖ X̂) + λ_ξ · NT-Xent(φ_a, φ_w). Each term is returned by name."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

EPS = 1e-5


def generalised_kl(x: torch.Tensor, x_hat: torch.Tensor) -> torch.Tensor:
    """Σ over time of x·(log x − log x̂) + x̂ − x, averaged over batch and mel rows; x, x̂ (B, 1, M, T)."""
    d = x * (torch.log(x + EPS) - torch.log(x_hat + EPS)) + x_hat - x
    return d.sum(dim=-1).mean()


def nt_xent(a: torch.Tensor, b: torch.Tensor, tau: float) -> torch.Tensor:
    """SimCLR's loss on the 2N views [a; b] (N, D) each: positives are the pairs (a_i, b_i)."""
    N = a.shape[0]
    z = F.normalize(torch.cat([a, b]), dim=-1)  # (2N, D)
    sim = (z @ z.T) / tau  # (2N, 2N) cosine / τ
    sim = sim.masked_fill(torch.eye(2 * N, dtype=torch.bool, device=z.device), float("-inf"))
    target = torch.cat([torch.arange(N, 2 * N), torch.arange(0, N)]).to(z.device)  # i ↔ i ± N
    return F.cross_entropy(sim, target)


class JointLoss(nn.Module):
    def __init__(self, recon_weight: float = 5.0, contrastive_weight: float = 10.0, tau: float = 0.1) -> None:
        super().__init__()
        self.recon_weight, self.contrastive_weight, self.tau = recon_weight, contrastive_weight, tau

    def forward(self, x: torch.Tensor, out: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        recon = generalised_kl(x.float(), out["recon"].float()) if "recon" in out else x.new_zeros(())
        contrastive = nt_xent(out["phi_a"].float(), out["phi_w"].float(), self.tau)
        total = self.recon_weight * recon + self.contrastive_weight * contrastive
        return {"loss": total, "recon_loss": recon, "contrastive_loss": contrastive}
