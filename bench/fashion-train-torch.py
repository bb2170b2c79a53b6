#!/usr/bin/python3
"""PyTorch peer of bench/fashion-train.sh: the Fashion-MNIST README's
"2 conv + pooling" net (conv 5x5 32 pad 2, ReLU, max-pool 2, conv 5x5 64
pad 2, ReLU, max-pool 2, fc 1024, ReLU, dropout 0.5, fc 10) trained with the
settings Kiln's run uses: SGD momentum 0.9, fixed learning rate, weight
decay 5e-4, He-normal weights and zero biases, input (pixel - mean image)
/ 255, no augmentation, cross-entropy.

Usage: fashion-train-torch.py MODE DATASET_DIR TRAIN_N TEST_N EPOCHS BATCH LR THREADS
  MODE train:    all layers learn; prints, per epoch, the training time
                 (loop only, no evaluation) and the test accuracy.
  MODE finetune: conv1/conv2 frozen (requires_grad False), a plain loop
                 that runs the full forward pass every epoch, the way a
                 PyTorch user fine-tunes without caching features.
Uses the first TRAIN_N training and the first TEST_N test images, as
`kiln-cli demo --limit` imports them. Output: "key value" lines.
Installs nothing; exits 3 when torch is missing.
"""
import gzip
import struct
import sys
import time

try:
    import torch
    import torch.nn as nn
except ImportError:
    print("fashion-train-torch: python3-torch is not installed (apt-get install python3-torch); "
          "this benchmark installs nothing", file=sys.stderr)
    sys.exit(3)


def read_idx(path, count):
    with gzip.open(path, "rb") as f:
        data = f.read()
    magic = struct.unpack(">I", data[:4])[0]
    dims = [struct.unpack(">I", data[4 + 4 * i:8 + 4 * i])[0] for i in range(magic & 0xff)]
    offset = 4 + 4 * len(dims)
    t = torch.frombuffer(bytearray(data[offset:]), dtype=torch.uint8).reshape(dims)
    return t[:count] if count > 0 else t


def make_net():
    net = nn.Sequential(
        nn.Conv2d(1, 32, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(32, 64, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(64 * 7 * 7, 1024), nn.ReLU(), nn.Dropout(0.5),
        nn.Linear(1024, 10))
    for m in net:
        if isinstance(m, (nn.Conv2d, nn.Linear)):
            nn.init.kaiming_normal_(m.weight, nonlinearity="relu")
            nn.init.zeros_(m.bias)
    return net


def accuracy(net, x, y, batch):
    net.eval()
    correct = 0
    with torch.no_grad():
        for i in range(0, len(x), batch):
            correct += (net(x[i:i + batch]).argmax(1) == y[i:i + batch]).sum().item()
    net.train()
    return correct / len(x)


def main():
    mode, root, train_n, test_n, epochs, batch, lr, threads = sys.argv[1:9]
    train_n, test_n, epochs, batch, threads = map(int, (train_n, test_n, epochs, batch, threads))
    lr = float(lr)
    torch.set_num_threads(threads)
    torch.manual_seed(1)
    print("torch_version", torch.__version__)

    xtr = read_idx(root + "/train-images-idx3-ubyte.gz", train_n).float().unsqueeze(1)
    ytr = read_idx(root + "/train-labels-idx1-ubyte.gz", train_n).long()
    xte = read_idx(root + "/t10k-images-idx3-ubyte.gz", test_n).float().unsqueeze(1)
    yte = read_idx(root + "/t10k-labels-idx1-ubyte.gz", test_n).long()
    mean = xtr.mean(0, keepdim=True)
    xtr = (xtr - mean) / 255.0
    xte = (xte - mean) / 255.0

    net = make_net()
    if mode == "finetune":
        for m in list(net)[:6]:
            for p in m.parameters():
                p.requires_grad = False
    params = [p for p in net.parameters() if p.requires_grad]
    opt = torch.optim.SGD(params, lr=lr, momentum=0.9, weight_decay=5e-4)
    loss_fn = nn.CrossEntropyLoss()
    steps = len(xtr) // batch  # Kiln drops the last partial batch too
    total = 0.0
    for epoch in range(epochs):
        order = torch.randperm(len(xtr))
        t0 = time.perf_counter()
        for s in range(steps):
            idx = order[s * batch:(s + 1) * batch]
            opt.zero_grad()
            loss = loss_fn(net(xtr[idx]), ytr[idx])
            loss.backward()
            opt.step()
        seconds = time.perf_counter() - t0
        total += seconds
        acc = accuracy(net, xte, yte, 256)
        print("epoch %d train_s %.3f images_per_s %.1f loss %.4f test_accuracy %.4f"
              % (epoch, seconds, steps * batch / seconds, loss.item(), acc))
        sys.stdout.flush()
    print("train_s", "%.3f" % total)
    print("images_per_s", "%.1f" % (epochs * steps * batch / total))
    print("test_accuracy", "%.4f" % acc)


if __name__ == "__main__":
    main()
