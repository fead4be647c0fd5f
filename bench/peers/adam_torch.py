"""PyTorch's CPU Adam (torch.optim.Adam, default implementation) on one float32 tensor of d."""
import torch

from timing import args, run


def make_step(d):
    p = torch.nn.Parameter(torch.randn(d))
    p.grad = torch.randn(d)
    opt = torch.optim.Adam([p], lr=1e-3, betas=(0.9, 0.999), eps=1e-8)
    return opt.step  # the gradient is fixed: only the update is timed


if __name__ == "__main__":
    a = args()
    torch.set_num_threads(a.threads)
    with torch.no_grad():
        run("torch", torch.__version__, torch.get_num_threads(), make_step, a)
