#!/usr/bin/python3
"""The PyTorch peer for bench/gpu.sh: the AlexNet of engine-alexnet-torch.py
(imported from it, so both benchmarks time the same net) on the GPU, random
data, SGD momentum 0.9, at a precision: fp32 (TF32 off), tf32 (TF32 matmul
and convolutions), bf16 (autocast, float32 master weights). Prints "key
value" lines like kiln-bench-net.

Usage: gpu-alexnet-torch.py BATCH TRAIN_STEPS INFER_STEPS PRECISION"""
import importlib.util
import os
import sys
import time

try:
    import torch
    import torch.nn as nn
except ImportError:
    print("no PyTorch here (import torch failed); the benchmark installs nothing", file=sys.stderr)
    sys.exit(2)


def load_alexnet():
    here = os.path.dirname(os.path.abspath(__file__))
    spec = importlib.util.spec_from_file_location("engine_alexnet_torch", os.path.join(here, "engine-alexnet-torch.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.alexnet()


def main():
    batch, train_steps, infer_steps = (int(a) for a in sys.argv[1:4])
    precision = sys.argv[4]
    if not torch.cuda.is_available():
        print("PyTorch sees no CUDA device", file=sys.stderr)
        sys.exit(2)
    tf32 = precision == "tf32"
    torch.backends.cuda.matmul.allow_tf32 = tf32
    torch.backends.cudnn.allow_tf32 = tf32
    torch.backends.cudnn.benchmark = True
    dtype = torch.bfloat16 if precision == "bf16" else None
    dev = torch.device("cuda")
    torch.manual_seed(1)
    net = load_alexnet().to(dev)
    x = (torch.rand(batch, 3, 227, 227) * 2 - 1).to(dev)
    y = torch.randint(0, 1000, (batch,)).to(dev)
    opt = torch.optim.SGD(net.parameters(), lr=0.001, momentum=0.9, weight_decay=5e-4)
    loss_fn = nn.CrossEntropyLoss()

    def forward():
        if dtype is None:
            return net(x)
        with torch.autocast("cuda", dtype=dtype):
            return net(x)

    def step():
        opt.zero_grad(set_to_none=True)
        loss = loss_fn(forward().float(), y)
        loss.backward()
        opt.step()
        return loss

    net.train()
    for _ in range(3):
        step()
    torch.cuda.synchronize()
    t = time.perf_counter()
    for _ in range(train_steps):
        loss = step()
    torch.cuda.synchronize()
    train_s = (time.perf_counter() - t) / train_steps

    net.eval()
    with torch.no_grad():
        for _ in range(3):
            forward()
        torch.cuda.synchronize()
        t = time.perf_counter()
        for _ in range(infer_steps):
            forward()
        torch.cuda.synchronize()
        infer_s = (time.perf_counter() - t) / infer_steps

    print("torch_version", torch.__version__)
    print("gpu", torch.cuda.get_device_name(0).replace(" ", "_"))
    print("precision", precision)
    print("train_images_per_s %.3f" % (batch / train_s))
    print("infer_images_per_s %.3f" % (batch / infer_s))
    print("final_loss %.4f" % loss.item())


if __name__ == "__main__":
    main()
