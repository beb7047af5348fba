"""torch.backends.cpu: the vector instruction set the CPU offers, in PyTorch's names."""


def get_cpu_capability():
    try:
        with open("/proc/cpuinfo") as f:
            flags = next((line for line in f if line.startswith("flags")), "").split()
    except OSError:
        return "DEFAULT"
    if "avx512f" in flags and "avx512bw" in flags:
        return "AVX512"
    if "avx2" in flags:
        return "AVX2"
    return "DEFAULT"
