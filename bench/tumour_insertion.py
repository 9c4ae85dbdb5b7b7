#!/usr/bin/env python3
"""Lesion insertion: synthetic tumours written into the real cases, to measure what the manual
truth of four livers cannot show (large surface tumours, tumours of every size at random places).

  tumour_insertion.py insert --data DATA --case NAME --out DIR --seed N SPEC...
  tumour_insertion.py score DIR

A SPEC is RADIUS_MM:DEPTH_MM:CONTRAST_HU[:RIM_CONTRAST_HU]: a sphere whose centre lies DEPTH_MM
inside the manual liver surface (a random such place; tumours at least 10 mm apart), cut by that
surface (a tumour of the liver stays inside it), its inner 60 % at liver + CONTRAST and the rest
at liver + RIM (default CONTRAST), with the image's own noise kept (the value is replaced by the
tumour value plus the voxel's deviation from its 5 x 5 in-plane mean) and a 1 mm partial-volume
edge. The series that carries the manual liver truth is written to DIR/ct; DIR/truth.npy and
DIR/tumours.npy hold the truth liver (tumours included) and each tumour on that series' grid.
`score` reads the SEG that `livernode analyze DIR/ct --out DIR/out` wrote and prints the liver
Dice (liver and lesion segments together against the truth liver), the volume error and, per
tumour, the share of it inside the result and the lesion found on it.
"""
import glob
import os
import sys

import numpy as np
import pydicom
from scipy import ndimage as ndi


def load_axial_series(folder):
    files = []
    for f in sorted(glob.glob(os.path.join(folder, "*"))):
        try:
            ds = pydicom.dcmread(f)
        except Exception:
            continue
        iop = [float(v) for v in getattr(ds, "ImageOrientationPatient", [0] * 6)]
        if abs(iop[0] - 1) > 1e-3 or abs(iop[4] - 1) > 1e-3:
            continue  # the coronal reformat among the axial slices
        files.append((f, ds))
    files.sort(key=lambda t: float(t[1].ImagePositionPatient[2]))
    hu = np.stack([ds.pixel_array.astype(float) * float(getattr(ds, "RescaleSlope", 1)) +
                   float(getattr(ds, "RescaleIntercept", 0)) for _, ds in files])
    z = np.array([float(ds.ImagePositionPatient[2]) for _, ds in files])
    ps = [float(v) for v in files[0][1].PixelSpacing]
    return files, hu, z, (abs(z[1] - z[0]), ps[0], ps[1])


def seg_masks(path, z, shape):
    """Segment label -> mask on the series grid, frames placed by their position."""
    seg = pydicom.dcmread(path)
    px = seg.pixel_array
    if px.ndim == 2:
        px = px[None]
    labels = {int(s.SegmentNumber): str(s.SegmentLabel) for s in seg.SegmentSequence}
    out = {}
    for i, fg in enumerate(seg.PerFrameFunctionalGroupsSequence):
        n = int(fg.SegmentIdentificationSequence[0].ReferencedSegmentNumber)
        fz = float(fg.PlanePositionSequence[0].ImagePositionPatient[2])
        k = int(np.argmin(abs(z - fz)))
        if abs(z[k] - fz) > 0.5:
            continue
        out.setdefault(labels[n], np.zeros(shape, bool))[k] |= px[i] > 0
    return out


def case_series_and_truth(data, case):
    root = os.path.join(data, case)
    pngs = os.path.join(root, "truth", "liver-png")
    if os.path.isdir(pngs):  # one mask per slice, in file-name order of the series
        from PIL import Image
        folder = os.path.join(root, "ct")
        files, hu, z, sp = load_axial_series(folder)
        order = {f: i for i, f in enumerate(sorted(glob.glob(os.path.join(folder, "*.dcm"))))}
        truth = np.stack([np.array(Image.open(os.path.join(pngs, "liver_GT_%03d.png" % order[f]))) > 0
                          for f, _ in files])
        return files, hu, z, sp, truth
    seg = sorted(glob.glob(os.path.join(root, "truth", "*.dcm")))[0]
    series = os.path.basename(seg).split("_ManualROI")[0]
    files, hu, z, sp = load_axial_series(os.path.join(root, "ct", series))
    truth = np.zeros(hu.shape, bool)
    for m in seg_masks(seg, z, hu.shape).values():
        truth |= m
    return files, hu, z, sp, truth


def insert(args):
    opts = {"--data": "../shared/data/real", "--seed": "1"}
    specs = []
    it = iter(args)
    for a in it:
        if a.startswith("--"):
            opts[a] = next(it)
        else:
            specs.append(a)
    files, hu, z, sp, truth = case_series_and_truth(opts["--data"], opts["--case"])
    rng = np.random.default_rng(int(opts["--seed"]))
    depth_in = ndi.distance_transform_edt(truth, sampling=sp)
    liver_hu = float(np.median(hu[depth_in > 10]))
    noise = hu - ndi.uniform_filter(hu, (1, 5, 5))
    zz, yy, xx = np.ogrid[:hu.shape[0], :hu.shape[1], :hu.shape[2]]
    out, tumours, placed = hu.copy(), [], []
    for spec in specs:
        radius, depth, contrast, *rim = [float(v) for v in spec.split(":")]
        places = np.argwhere((depth_in > depth - 1) & (depth_in < depth + 1))
        if len(places) == 0:
            sys.exit("no place %g mm inside the liver of %s" % (depth, opts["--case"]))
        for _ in range(1000):
            c = places[rng.integers(len(places))]
            if all(np.sqrt(sum(((c[a] - pc[a]) * sp[a]) ** 2 for a in range(3))) > radius + pr + 10
                   for pc, pr in placed):
                break
        else:
            sys.exit("no place for tumour %d at least 10 mm from the others" % (len(placed) + 1))
        placed.append((c, radius))
        r = np.sqrt(((zz - c[0]) * sp[0]) ** 2 + ((yy - c[1]) * sp[1]) ** 2 + ((xx - c[2]) * sp[2]) ** 2)
        weight = np.clip(radius + 0.5 - r, 0, 1) * truth
        value = np.where(r < 0.6 * radius, liver_hu + contrast, liver_hu + (rim[0] if rim else contrast))
        out = out * (1 - weight) + (value + noise) * weight
        tumours.append((r <= radius) & truth)
        print("tumour %d: radius %g mm, centre %g mm deep, %.1f mL, %+g HU against the liver's %.0f HU"
              % (len(tumours), radius, depth, tumours[-1].sum() * np.prod(sp) / 1000, contrast, liver_hu))
    folder = os.path.join(opts["--out"], "ct")
    os.makedirs(folder, exist_ok=True)
    for k, (f, ds) in enumerate(files):
        slope, icpt = float(getattr(ds, "RescaleSlope", 1)), float(getattr(ds, "RescaleIntercept", 0))
        dtype = ds.pixel_array.dtype
        px = np.clip(np.round((out[k] - icpt) / slope), np.iinfo(dtype).min, np.iinfo(dtype).max)
        ds.PixelData = px.astype(dtype).tobytes()
        ds.save_as(os.path.join(folder, os.path.basename(f)))
    np.save(os.path.join(opts["--out"], "truth.npy"), truth)
    np.save(os.path.join(opts["--out"], "tumours.npy"), np.stack(tumours))
    np.save(os.path.join(opts["--out"], "z.npy"), z)


def score(folder):
    truth = np.load(os.path.join(folder, "truth.npy"))
    tumours = np.load(os.path.join(folder, "tumours.npy"))
    z = np.load(os.path.join(folder, "z.npy"))
    name = os.path.basename(os.path.normpath(folder))
    segs = glob.glob(os.path.join(folder, "out", "*", "seg.dcm"))
    if not segs:
        print("%s: no SEG written" % name)
        return
    _, _, _, sp = load_axial_series(os.path.join(folder, "ct"))
    ml = np.prod(sp) / 1000
    liver = np.zeros_like(truth)
    lesions = []
    for label, m in seg_masks(segs[0], z, truth.shape).items():
        if label.lower().startswith("liver"):
            liver |= m
        else:
            lesions.append(m)
    result = liver.copy()
    for m in lesions:
        result |= m
    dice = lambda a, b: 2 * (a & b).sum() / max(1, a.sum() + b.sum())
    line = "%s: liver Dice %.4f, volume %+.1f %%" % (name, dice(result, truth),
                                                     100.0 * (result.sum() - truth.sum()) / truth.sum())
    for i, t in enumerate(tumours):
        hits = [m for m in lesions if (m & t).any()]
        line += " | tumour %d %.1f mL, %.0f %% in the result, " % (i + 1, t.sum() * ml,
                                                                 100.0 * (result & t).sum() / t.sum())
        line += ("found as %.1f mL (Dice %.2f)" % (sum(m.sum() for m in hits) * ml,
                                                   dice(np.any(hits, axis=0), t))) if hits else "MISSED"
    others = [m.sum() * ml for m in lesions if not any((m & t).any() for t in tumours)]
    line += " | other lesions: %d%s" % (len(others), (" (" + ", ".join("%.1f" % v for v in others) + " mL)") if others else "")
    print(line)


if __name__ == "__main__":
    if len(sys.argv) < 3 or sys.argv[1] not in ("insert", "score"):
        sys.exit(__doc__)
    insert(sys.argv[2:]) if sys.argv[1] == "insert" else score(sys.argv[2])
