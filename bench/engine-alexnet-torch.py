#!/usr/bin/python3
"""The PyTorch peer for bench/engine-alexnet.sh: the same AlexNet as Kiln's
"alexnet" preset (Chainer alex.py: ceil pooling, LRN n=5 k=2 alpha=1e-4
undivided, i.e. 5e-4 in PyTorch's alpha/n form, beta=0.75), 227x227, random
data, SGD momentum 0.9. Prints "key value" lines like kiln-bench-net.

Usage: engine-alexnet-torch.py BATCH TRAIN_STEPS INFER_STEPS THREADS"""
import sys
import time

try:
    import torch
    import torch.nn as nn
except ImportError:
    print("missing python3-torch (Debian package); the benchmark installs nothing", file=sys.stderr)
    sys.exit(2)


def alexnet():
    def lrn():
        return nn.LocalResponseNorm(5, alpha=5e-4, beta=0.75, k=2.0)

    def pool():
        return nn.MaxPool2d(3, 2, ceil_mode=True)

    return nn.Sequential(
        nn.Conv2d(3, 96, 11, stride=4), nn.ReLU(), lrn(), pool(),
        nn.Conv2d(96, 256, 5, padding=2), nn.ReLU(), lrn(), pool(),
        nn.Conv2d(256, 384, 3, padding=1), nn.ReLU(),
        nn.Conv2d(384, 384, 3, padding=1), nn.ReLU(),
        nn.Conv2d(384, 256, 3, padding=1), nn.ReLU(), pool(),
        nn.Flatten(),
        nn.Linear(9216, 4096), nn.ReLU(), nn.Dropout(0.5),
        nn.Linear(4096, 4096), nn.ReLU(), nn.Dropout(0.5),
        nn.Linear(4096, 1000),
    )


def main():
    batch, train_steps, infer_steps, threads = (int(a) for a in sys.argv[1:5])
    torch.set_num_threads(threads)
    torch.manual_seed(1)
    net = alexnet()
    x = torch.rand(batch, 3, 227, 227) * 2 - 1
    y = torch.randint(0, 1000, (batch,))
    opt = torch.optim.SGD(net.parameters(), lr=0.001, momentum=0.9, weight_decay=5e-4)
    loss_fn = nn.CrossEntropyLoss()

    def step():
        opt.zero_grad()
        loss = loss_fn(net(x), y)
        loss.backward()
        opt.step()
        return loss.item()

    net.train()
    step()
    t = time.perf_counter()
    for _ in range(train_steps):
        loss = step()
    train_s = (time.perf_counter() - t) / train_steps

    net.eval()
    with torch.no_grad():
        net(x)
        t = time.perf_counter()
        for _ in range(infer_steps):
            net(x)
        infer_s = (time.perf_counter() - t) / infer_steps

    print("torch_version", torch.__version__)
    print("threads", torch.get_num_threads())
    print("train_images_per_s %.3f" % (batch / train_s))
    print("infer_images_per_s %.3f" % (batch / infer_s))
    print("final_loss %.4f" % loss)


# Guarded: gpu-alexnet-torch.py imports alexnet() from here.
if __name__ == "__main__":
    main()
