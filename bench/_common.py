"""Shared helpers for the benchmarks: timing (median of repeats) and the machine description."""
import os, platform, statistics, time
from importlib.metadata import version, PackageNotFoundError

def timeit(fn, repeat=7, warmup=1):
    "Median wall time of `fn()` in seconds over `repeat` runs after `warmup` runs."
    for _ in range(warmup): fn()
    ts = []
    for _ in range(repeat):
        t0 = time.perf_counter(); fn(); ts.append(time.perf_counter() - t0)
    return statistics.median(ts)

def _cpu_model():
    try:
        for line in open('/proc/cpuinfo'):
            if line.startswith('model name'): return line.split(':', 1)[1].strip()
    except OSError: pass
    return platform.processor() or 'unknown'

def machine(packages=('numpy', 'torch', 'colour-science', 'opencolorio')):
    "One-line description of this machine and the library versions measured."
    import torch
    vers = []
    for p in packages:
        try: vers.append(f'{p} {version(p)}')
        except PackageNotFoundError: pass
    gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else 'no GPU'
    return (f'{os.cpu_count()} CPU cores ({_cpu_model()}), torch threads {torch.get_num_threads()}, {gpu}; '
            f'Python {platform.python_version()}; ' + ', '.join(vers))

def table(rows, header):
    "Markdown table from a list of row tuples."
    out = ['| ' + ' | '.join(header) + ' |', '|' + '---|' * len(header)]
    out += ['| ' + ' | '.join(str(c) for c in r) + ' |' for r in rows]
    return '\n'.join(out)
