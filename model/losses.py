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


def tag_overlap(rows: torch.Tensor) -> torch.Tensor:
    """Jaccard overlap (B, B) of the clips' tag sets; rows (B, T) tag indices, 0 the pad."""
    hot = torch.zeros(rows.shape[0], int(rows.max()) + 1, device=rows.device)
    hot.scatter_(1, rows, 1.0)
    hot[:, 0] = 0.0  # (B, V) the pad is no tag
    inter = hot @ hot.T
    sizes = hot.sum(dim=1)
    return inter / (sizes[:, None] + sizes[None, :] - inter).clamp(min=1.0)


def nt_xent(a: torch.Tensor, b: torch.Tensor, tau: float, overlap: torch.Tensor | None = None,
            soft: float = 0.0) -> torch.Tensor:  # fmt: skip
    """SimCLR's loss on the 2N views [a; b] (N, D) each: positives are the pairs (a_i, b_i). With
    `soft` > 0, clips whose tags overlap (`overlap`, (N, N) in [0, 1]) are partly positives too, with
    `soft` × their overlap as weight: two guitar notes in one batch are not pushed apart."""
    N = a.shape[0]
    z = F.normalize(torch.cat([a, b]), dim=-1)  # (2N, D)
    sim = (z @ z.T) / tau  # (2N, 2N) cosine / τ
    eye = torch.eye(2 * N, dtype=torch.bool, device=z.device)
    sim = sim.masked_fill(eye, float("-inf"))
    target = torch.cat([torch.arange(N, 2 * N), torch.arange(0, N)]).to(z.device)  # i ↔ i ± N
    if overlap is None or soft <= 0:
        return F.cross_entropy(sim, target)
    own = torch.eye(N, device=z.device)
    k = soft * overlap.float() * (1 - own)  # (N, N) partial positives, never a view with itself
    weights = torch.cat([torch.cat([k, own + k], 1), torch.cat([own + k, k], 1)])  # (2N, 2N)
    weights = weights / weights.sum(dim=1, keepdim=True)
    return -(weights * F.log_softmax(sim, dim=1).masked_fill(eye, 0.0)).sum(dim=1).mean()


class JointLoss(nn.Module):
    def __init__(
        self, recon_weight: float = 5.0, contrastive_weight: float = 10.0, tau: float = 0.1, soft: float = 0.0
    ) -> None:
        super().__init__()
        self.recon_weight, self.contrastive_weight, self.tau = recon_weight, contrastive_weight, tau
        self.soft = soft

    def forward(
        self, x: torch.Tensor, out: dict[str, torch.Tensor], rows: torch.Tensor | None = None
    ) -> dict[str, torch.Tensor]:
        """`rows` (B, T): the batch's tag indices, for soft targets."""
        recon = generalised_kl(x.float(), out["recon"].float()) if "recon" in out else x.new_zeros(())
        overlap = tag_overlap(rows) if self.soft > 0 and rows is not None else None
        contrastive = nt_xent(out["phi_a"].float(), out["phi_w"].float(), self.tau, overlap, self.soft)
        total = self.recon_weight * recon + self.contrastive_weight * contrastive
        return {"loss": total, "recon_loss": recon, "contrastive_loss": contrastive}
