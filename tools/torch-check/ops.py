#!/usr/bin/env python3
"""Swim's gradients and exact Gauss-Newton diagonal against PyTorch autograd, on small nets PyTorch itself exports.

For each net below (one per operator family Swim learned for today's exports), PyTorch builds the net, exports it
with torch.onnx (dynamic batch), writes seeded random samples and labels, and runs `swim sensitivity --curvature ggn`
on them. The reference is computed in PyTorch alone, from the definitions, sharing nothing with Swim:
- grad: torch.autograd.grad of the mean cross-entropy;
- ggn: the diagonal of J^T H J with H = diag(p) - p p^T at the logits, as sum over samples and classes k of
  (J^T s_k)^2 with s_k = sqrt(p_k) (e_k - p), one vector-Jacobian product per sample and class, divided by the
  number of samples.
Each weight tensor passes when the largest difference is at most 1e-4 of its largest magnitude.

  python3 tools/torch-check/ops.py [SWIM_COMMAND ...]
  (default command: dotnet run --project Swim.Controller -c Release --)

Needs PyTorch with torch.onnx (Debian: python3-torch) and numpy; `dotnet test` does not run it.
"""
import os
import subprocess
import sys
import tempfile
import warnings

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

TOLERANCE = 1e-4


class SqueezeExcite(nn.Module):
    """SiLU activations, a squeeze-excitation gate (mean over the map, HardSigmoid) multiplying the map."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3, padding=1)
        self.reduce = nn.Conv2d(8, 4, 1)
        self.expand = nn.Conv2d(4, 8, 1)
        self.head = nn.Linear(8, 4)

    def forward(self, x):
        h = F.silu(self.conv(x))
        g = F.hardsigmoid(self.expand(F.relu(self.reduce(h.mean((2, 3), keepdim=True)))))
        return self.head((h * g).mean((2, 3)))


class HardSwishPad(nn.Module):
    """HardSwish after an asymmetric F.pad (TensorFlow-"SAME" style), PReLU, global mean."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(2, 6, 3, stride=2)
        self.prelu = nn.PReLU(6, init=0.2)
        self.head = nn.Linear(6, 3)

    def forward(self, x):
        h = F.hardswish(self.conv(F.pad(x, (0, 1, 0, 1))))
        return self.head(self.prelu(h).mean((2, 3)))


class Transformerish(nn.Module):
    """LayerNorm, GELU (Erf), Softplus, an RMS normalisation by Pow, ReduceMean and Sqrt, a weight behind Reshape."""

    def __init__(self):
        super().__init__()
        self.inp = nn.Linear(6, 8)
        self.norm = nn.LayerNorm(8)
        self.mix = nn.Parameter(torch.randn(64) * 0.3)
        self.head = nn.Linear(8, 3)

    def forward(self, x):
        h = F.gelu(self.norm(self.inp(x)))
        h = h / torch.sqrt(h.pow(2).mean(-1, keepdim=True) + 1e-3)
        h = F.softplus(h @ self.mix.reshape(8, 8))
        return self.head(h)


class SharedConv(nn.Module):
    """One convolution's weight read by two convolutions: ggn's cross term between the reads."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(4, 4, 3, padding=1)
        self.head = nn.Linear(4, 3)

    def forward(self, x):
        h = torch.tanh(self.conv(x))
        h = torch.tanh(F.conv2d(h, self.conv.weight, padding=1))
        return self.head(h.mean((2, 3)))


NETS = {
    "silu, squeeze-excitation, hard sigmoid, reduce mean": (SqueezeExcite, (3, 6, 6)),
    "hard swish, asymmetric pad, prelu": (HardSwishPad, (2, 7, 7)),
    "layer norm, gelu, pow, sqrt, softplus, weight behind reshape": (Transformerish, (6,)),
    "weight shared by two convolutions": (SharedConv, (4, 5, 5)),
}


def reference(model, x, y):
    params = dict(model.named_parameters())
    logits = model(x)
    loss = F.cross_entropy(logits, y)
    grads = dict(zip(params, torch.autograd.grad(loss, list(params.values()))))
    ggn = {name: torch.zeros_like(p) for name, p in params.items()}
    for n in range(x.shape[0]):
        z = model(x[n:n + 1])[0]
        p = torch.softmax(z, 0).detach()
        for k in range(z.shape[0]):
            s = torch.sqrt(p[k]) * (torch.eye(z.shape[0])[k] - p)
            for name, g in zip(params, torch.autograd.grad(z, list(params.values()), s, retain_graph=True, allow_unused=True)):
                if g is not None:
                    ggn[name] += g.pow(2)
    return grads, {name: v / x.shape[0] for name, v in ggn.items()}


def check(name, net, sample, swim, work):
    torch.manual_seed(7)
    model = net().double()
    x = torch.randn(8, *sample, dtype=torch.float64)
    y = torch.randint(3, (8,))
    path = os.path.join(work, "net.onnx")
    # Without constant folding the exporter keeps each parameter's name (a folded Reshape of a weight would be
    # a new initializer); Swim maps a weight behind a Reshape either way.
    torch.onnx.export(model.float(), x.float(), path, input_names=["x"], output_names=["scores"],
                      dynamic_axes={"x": {0: "N"}, "scores": {0: "N"}}, opset_version=17, do_constant_folding=False)
    model.double()
    data = os.path.join(work, "data.npz")
    np.savez(data, x=x.float().numpy(), y=y.numpy())
    out = os.path.join(work, "sens.npz")
    run = subprocess.run(swim + ["sensitivity", path, "--data", data, "--out", out, "--curvature", "ggn", "--batch", "8"],
                         capture_output=True, text=True)
    if run.returncode != 0:
        print(f"FAIL {name}: swim exited {run.returncode}: {run.stderr.strip() or run.stdout.strip()}")
        return False
    grads, ggn = reference(model, x, y)
    ok = True
    with np.load(out) as swim_file:
        keys = [k[len("hess/"):] for k in swim_file.files if k.startswith("hess/")]
        for key in keys:
            if key not in grads:
                print(f"  {name}: {key}: no PyTorch parameter of that name (the exporter renamed it); not compared")
                continue
            for kind, ref in (("grad", grads[key]), ("hess", ggn[key])):
                mine = swim_file[f"{kind}/{key}"].astype(np.float64).reshape(ref.shape)
                theirs = ref.detach().numpy()
                scale = max(np.abs(theirs).max(), 1e-30)
                diff = np.abs(mine - theirs).max() / scale
                verdict = "ok" if diff <= TOLERANCE else "FAIL"
                ok &= diff <= TOLERANCE
                print(f"  {verdict:4} {name}: {kind}/{key} {tuple(theirs.shape)}: max diff / max |ref| = {diff:.2e}")
    return ok


def main():
    warnings.filterwarnings("ignore")  # the exporter's notes on shape inference
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    swim = sys.argv[1:] or ["dotnet", "run", "--project", os.path.join(root, "Swim.Controller"), "-c", "Release", "--"]
    all_ok = True
    with tempfile.TemporaryDirectory() as work:
        for name, (net, sample) in NETS.items():
            all_ok &= check(name, net, sample, swim, work)
    print("all agree" if all_ok else "some differ")
    return 0 if all_ok else 1


if __name__ == "__main__":
    sys.exit(main())
