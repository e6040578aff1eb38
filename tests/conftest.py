"Shared pytest fixtures: synthetic LogC3/AWG3 datasets, built once per test session (and per xdist worker)."
import shutil
from pathlib import Path
import numpy as np, pytest
from sdr2log.color import convert_space
from sdr2log.io import write_tiff
from sdr2log.synth import synthesize


@pytest.fixture(scope='session')
def synth_set(tmp_path_factory):
    "A factory `synth_set(sequences, frames, size, seed) -> root` that builds each distinct dataset once per session."
    built: dict[tuple, Path] = {}
    def make(sequences: int = 5, frames: int = 4, size: tuple = (64, 96), seed: int = 1) -> Path:
        key = (sequences, frames, tuple(size), seed)
        if key not in built:
            root = tmp_path_factory.mktemp(f'synth_{sequences}x{frames}_{size[0]}x{size[1]}_s{seed}') / 'data'
            synthesize(root, sequences=sequences, frames=frames, size=tuple(size), seed=seed)
            built[key] = root
        return built[key]
    return make


@pytest.fixture(scope='module')
def synth_data(synth_set, tmp_path_factory):
    """The standard small set (5 sequences of 4 frames, 64x96, seed 1), built once per session and copied for each test
    module, since a module's split settings write their own split cache into the data root."""
    dst = tmp_path_factory.mktemp('synth_copy') / 'data'
    shutil.copytree(synth_set(), dst)
    return dst


@pytest.fixture(scope='session')
def noise_frames():
    "A factory `noise_frames(root, seed)`: five sequences of two 16-bit LogC3 frames of scene-linear noise (fast; 3/1/1)."
    def make(root: Path, seed: int = 0) -> Path:
        rng = np.random.default_rng(seed)
        for s in range(5):
            (root / f'shot{s}').mkdir(parents=True)
            for f in range(2):
                lin = rng.random((48, 64, 3), np.float32) * 2 ** rng.uniform(-3, 3)
                write_tiff(root / f'shot{s}' / f'shot{s}_{f:04d}.tif', convert_space(lin, 'AWG3', 'LogC3', clip=True))
        return root
    return make
