#!/usr/bin/env python3
"""PyTorch's side of Swim's sensitivity benchmark (Swim.Benchmarks `sensitivity-peer`).

Times one phase of one network in PyTorch, on the same machine and in the same run as Swim, and prints one line:
`PHASE SECONDS PEAK_RSS_KB THREADS`.

  python3 peer.py resnet18 forward|backward SAMPLES BATCH [SEED]
  python3 peer.py lenet5   forward|backward DATA.npz BATCH

resnet18 is the CIFAR-sized ResNet-18 that Swim.Benchmarks builds (BatchNorm folded into each convolution's bias,
as PyTorch's exporter writes it), on seeded random images and labels; lenet5 is the SWIM paper's LeNet-5 on the
digits of DATA.npz. Weights are random: timing does not depend on trained values. `forward` is inference
(no autograd); `backward` is forward plus the backward pass of the mean cross-entropy to every weight, the
yardstick the issue names. Threads: one per core, as Swim uses.
"""
import os
import resource
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


class BasicBlock(nn.Module):
    def __init__(self, cin, cout, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1)
        self.shortcut = nn.Conv2d(cin, cout, 1, stride, 0) if stride != 1 or cin != cout else None

    def forward(self, x):
        y = self.conv2(F.relu(self.conv1(x)))
        return F.relu(y + (self.shortcut(x) if self.shortcut is not None else x))


class ResNet18(nn.Module):
    def __init__(self, classes=10):
        super().__init__()
        self.stem = nn.Conv2d(3, 64, 3, 1, 1)
        blocks, cin = [], 64
        for width in (64, 128, 256, 512):
            for b in range(2):
                blocks.append(BasicBlock(cin, width, 2 if b == 0 and width != 64 else 1))
                cin = width
        self.blocks = nn.Sequential(*blocks)
        self.fc = nn.Linear(512, classes)

    def forward(self, x):
        h = self.blocks(F.relu(self.stem(x)))
        return self.fc(torch.flatten(F.adaptive_avg_pool2d(h, 1), 1))


class LeNet5(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 6, 5, padding=2)
        self.conv2 = nn.Conv2d(6, 16, 5)
        self.fc1, self.fc2, self.fc3 = nn.Linear(400, 120), nn.Linear(120, 84), nn.Linear(84, 10)

    def forward(self, x):
        h = F.max_pool2d(F.relu(self.conv1(x)), 2)
        h = F.max_pool2d(F.relu(self.conv2(h)), 2)
        h = F.relu(self.fc1(torch.flatten(h, 1)))
        return self.fc3(F.relu(self.fc2(h)))


def data_for(network, args):
    if network == "resnet18":
        samples = int(args[0])
        generator = torch.Generator().manual_seed(int(args[2]) if len(args) > 2 else 1)
        return torch.randn(samples, 3, 32, 32, generator=generator), torch.randint(10, (samples,), generator=generator)
    import numpy as np
    with np.load(args[0]) as npz:
        x = torch.from_numpy(npz["x"].astype("float32")).reshape(-1, 1, 28, 28)
        if x.max() > 2:
            x = x / 255
        return x, torch.from_numpy(npz["y"].astype("int64"))


def main():
    network, phase, rest = sys.argv[1], sys.argv[2], sys.argv[3:]
    torch.set_num_threads(os.cpu_count())
    torch.manual_seed(1)
    model = ResNet18() if network == "resnet18" else LeNet5()
    x, y = data_for(network, rest)
    batch = int(rest[1])

    def run():
        for start in range(0, len(x), batch):
            xb, yb = x[start:start + batch], y[start:start + batch]
            if phase == "forward":
                with torch.no_grad():
                    model(xb)
            else:
                model.zero_grad(set_to_none=True)
                F.cross_entropy(model(xb), yb).backward()

    run()  # warm-up: allocator and oneDNN primitive caches, as Swim's figure includes its own start-up
    start = time.perf_counter()
    run()
    seconds = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(f"{phase} {seconds:.4f} {peak} {torch.get_num_threads()}")


if __name__ == "__main__":
    main()
