"""Regenerate the packaged film-sdr LUT (sdr2log/luts/film_logc3_rec709_33.cube) from `sdr2log.render.film_lut`.

Usage: python tools/make_film_lut.py [--check]   (--check: exit 1 if the committed file differs from the generator)
"""
import argparse, sys, tempfile
from pathlib import Path
import numpy as np
from sdr2log.lut import read_cube, write_cube
from sdr2log.render import FILM_LUT, film_lut

DEST = Path(__file__).resolve().parents[1] / 'sdr2log' / 'luts' / FILM_LUT

def main(argv=None) -> int:
    a = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    a.add_argument('--check', action='store_true', help='compare the committed file with the generator, write nothing')
    args = a.parse_args(argv)
    lut = film_lut()
    if args.check:
        d = np.abs(read_cube(DEST).table3d - lut.table3d).max()
        print(f"{DEST}: largest difference from film_lut() {d:.2e}")
        return 0 if d < 1e-5 else 1
    DEST.parent.mkdir(exist_ok=True)
    with tempfile.NamedTemporaryFile('w', dir=DEST.parent, suffix='.tmp', delete=False) as f: tmp = Path(f.name)
    write_cube(tmp, lut, precision=6); tmp.chmod(0o644)
    tmp.replace(DEST)
    print(f"wrote {DEST} ({DEST.stat().st_size / 1e6:.1f} MB)")
    return 0

if __name__ == '__main__': sys.exit(main())
