#!/usr/bin/python3
"""PyTorch peer of bench/fashion-93.sh: trains what a Kiln run trained, read
from that run's folder, so both sides share one recipe by construction:

  - the net: config.json's "spec" (a chain of Convolution, BatchNorm, ReLU,
    MaxPool, InnerProduct, Dropout), He-normal weights, zero biases;
  - the data: the images named in train.txt and test.txt (the demo imports
    IDX image i as train-NNNNN.png / test-NNNNN.png), decoded from the IDX
    files, placed in the cached size as Kiln's downscale-crop does (centred,
    black border), minus the mean image of the training images, / 255;
  - augmentation: random crops of the net's input size from the cached size
    and left-right flips, per sample, as the options say;
  - the optimizer (SGD momentum or Adam, weight decay on every parameter),
    batch size, epochs, dropped last partial batch, and the learning-rate
    factor per iteration (cosine with a floor, linear warm-up), as
    kiln-lr-schedule.c computes it.

Usage: fashion-93-torch.py RUN_DIR DATASET_DIR THREADS LIMIT_S
Stops after the first epoch that ends past LIMIT_S seconds of training loop
(0: no limit). Prints "key value" lines; per epoch: "epoch E train_s S
loop_s CUMULATIVE loss L test_accuracy A loop_cpu_s CUMULATIVE_CPU". Installs nothing; exits 3 when
torch is missing.
"""
import importlib.util
import json
import math
import os
import sys
import time

try:
    import torch
    import torch.nn as nn
except ImportError:
    print("fashion-93-torch: python3-torch is not installed (apt-get install python3-torch); "
          "this benchmark installs nothing", file=sys.stderr)
    sys.exit(3)

# read_idx() and accuracy() are the older peer's.
_here = os.path.dirname(os.path.abspath(__file__))
_spec = importlib.util.spec_from_file_location("fashion_train_torch", os.path.join(_here, "fashion-train-torch.py"))
peer = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(peer)


def make_net(spec):
    """The Kiln spec's chain of layers as an nn.Sequential."""
    layers, c, h, w = [], spec["input"]["channels"], spec["input"]["height"], spec["input"]["width"]
    for l in spec["layers"]:
        t = l["type"]
        if t == "Convolution":
            (kh, kw), (sh, sw), pad = l["kernel"], l["stride"], l["pad"]
            assert pad[0] == pad[2] and pad[1] == pad[3] and l.get("group", 1) == 1, l["name"]
            layers.append(nn.Conv2d(c, l["num_output"], (kh, kw), (sh, sw), (pad[0], pad[1]), bias=l["bias"]))
            c, h, w = l["num_output"], (h + 2 * pad[0] - kh) // sh + 1, (w + 2 * pad[1] - kw) // sw + 1
        elif t == "BatchNorm":
            # Kiln's momentum keeps that share of the running statistics.
            layers.append(nn.BatchNorm1d(c, l["epsilon"], 1 - l["momentum"]) if h == w == 1 else
                          nn.BatchNorm2d(c, l["epsilon"], 1 - l["momentum"]))
        elif t == "ReLU":
            layers.append(nn.ReLU())
        elif t == "MaxPool":
            (kh, kw), (sh, sw), pad = l["kernel"], l["stride"], l["pad"]
            ceil = l.get("rounding") == "ceil"
            layers.append(nn.MaxPool2d((kh, kw), (sh, sw), (pad[0], pad[1]), ceil_mode=ceil))
            r = math.ceil if ceil else math.floor
            h, w = r((h + 2 * pad[0] - kh) / sh) + 1, r((w + 2 * pad[1] - kw) / sw) + 1
        elif t == "InnerProduct":
            if h * w > 1 or not layers or not isinstance(layers[-1], nn.Flatten):
                layers.append(nn.Flatten())
            layers.append(nn.Linear(c * h * w, l["num_output"], bias=l["bias"]))
            c, h, w = l["num_output"], 1, 1
        elif t == "Dropout":
            layers.append(nn.Dropout(l["ratio"]))
        else:
            raise SystemExit("fashion-93-torch: layer type %s is not translated" % t)
    net = nn.Sequential(*layers)
    for m in net:
        if isinstance(m, (nn.Conv2d, nn.Linear)):
            nn.init.kaiming_normal_(m.weight, nonlinearity="relu")
            if m.bias is not None:
                nn.init.zeros_(m.bias)
    return net


def lr_factor(schedule, iteration, per_epoch):
    """kiln_lr_schedule_factor() for the fixed, exponential and cosine policies."""
    epoch = iteration // per_epoch
    policy = schedule["policy"]
    if policy == "cosine":
        t = min(1.0, iteration / (per_epoch * max(schedule["total_epochs"], 1)))
        f = schedule["min_factor"] + (1 - schedule["min_factor"]) * 0.5 * (1 + math.cos(math.pi * t))
    elif policy == "exponential":
        f = schedule["gamma"] ** epoch
    elif policy == "step":
        f = schedule["gamma"] ** (epoch // max(schedule["step_epochs"], 1))
    else:
        f = 1.0
    warmup = schedule["warmup_iterations"]
    if warmup > 0 and iteration < warmup:
        f *= (iteration + 1) / (warmup + 1)
    return f


def load_subset(run_dir, name, root, prefix):
    """IDX images and labels of the run's NAME.txt, by the index in each file name."""
    with open(os.path.join(run_dir, name + ".txt")) as f:
        index = [int(os.path.basename(line.split()[0])[len(prefix):-len(".png")]) for line in f if line.strip()]
    idx = torch.tensor(index, dtype=torch.long)
    stem = "train" if prefix == "train-" else "t10k"
    x = peer.read_idx("%s/%s-images-idx3-ubyte.gz" % (root, stem), 0)[idx]
    y = peer.read_idx("%s/%s-labels-idx1-ubyte.gz" % (root, stem), 0)[idx].long()
    return x, y


def main():
    run_dir, root, threads, limit_s = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
    with open(os.path.join(run_dir, "config.json")) as f:
        config = json.load(f)
    o, image, spec = config["options"], config["image"], config["spec"]
    torch.set_num_threads(threads)
    torch.manual_seed(int(o["seed"]))
    print("torch_version", torch.__version__)

    in_h, in_w = spec["input"]["height"], spec["input"]["width"]
    ch, cw = image["height"], image["width"]
    xtr, ytr = load_subset(run_dir, "train", root, "train-")
    xte, yte = load_subset(run_dir, "test", root, "test-")
    if ch < xtr.shape[1] or cw < xtr.shape[2] or image["resize"] not in ("downscale-crop", "squash", "fill"):
        raise SystemExit("fashion-93-torch: only caches at least the images' size are translated")
    py, px = (ch - xtr.shape[1]) // 2, (cw - xtr.shape[2]) // 2
    pad = (px, cw - xtr.shape[2] - px, py, ch - xtr.shape[1] - py)
    xtr = nn.functional.pad(xtr.float(), pad).unsqueeze(1)
    xte = nn.functional.pad(xte.float(), pad).unsqueeze(1)
    scale = o["scale"] or 1 / 255.0
    mean = xtr.mean(0, keepdim=True)
    xtr, xte = (xtr - mean) * scale, (xte - mean) * scale
    oy, ox = (ch - in_h) // 2, (cw - in_w) // 2
    xte = xte[:, :, oy:oy + in_h, ox:ox + in_w].contiguous()

    net = make_net(spec)
    if o["optimizer"] == "adam":
        opt = torch.optim.Adam(net.parameters(), lr=o["learning_rate"], betas=(o["beta1"], o["beta2"]),
                               eps=o["eps"], weight_decay=o["weight_decay"])
    else:
        opt = torch.optim.SGD(net.parameters(), lr=o["learning_rate"], momentum=o["momentum"],
                              weight_decay=o["weight_decay"])
    batch = o["batch_size"]
    steps = len(xtr) // batch
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda it: lr_factor(o["schedule"], it, steps))
    loss_fn = nn.CrossEntropyLoss()
    rows, cols = torch.arange(in_h), torch.arange(in_w)
    total = cpu = 0.0
    for epoch in range(o["epochs"]):
        order = torch.randperm(len(xtr))
        t0 = time.perf_counter()
        c0 = time.process_time()
        for s in range(steps):
            idx = order[s * batch:(s + 1) * batch]
            n = len(idx)
            dy = torch.randint(0, ch - in_h + 1, (n,)) if o["random_crop"] else torch.full((n,), oy)
            dx = torch.randint(0, cw - in_w + 1, (n,)) if o["random_crop"] else torch.full((n,), ox)
            flip = torch.rand(n) < 0.5 if o["mirror"] else torch.zeros(n, dtype=torch.bool)
            c = torch.where(flip[:, None], in_w - 1 - cols[None, :], cols[None, :]) + dx[:, None]
            r = rows[None, :] + dy[:, None]
            x = xtr[idx][torch.arange(n)[:, None, None], 0, r[:, :, None], c[:, None, :]].unsqueeze(1)
            opt.zero_grad()
            loss = loss_fn(net(x), ytr[idx])
            loss.backward()
            opt.step()
            sched.step()
        seconds = time.perf_counter() - t0
        total += seconds
        cpu += time.process_time() - c0
        acc = peer.accuracy(net, xte, yte, 256)
        print("epoch %d train_s %.3f loop_s %.3f loss %.4f test_accuracy %.4f loop_cpu_s %.1f"
              % (epoch, seconds, total, loss.item(), acc, cpu))
        sys.stdout.flush()
        if limit_s > 0 and total > limit_s:
            break
    print("train_s", "%.3f" % total)
    print("images_per_s", "%.1f" % ((epoch + 1) * steps * batch / total))


if __name__ == "__main__":
    main()
