#!/usr/bin/env python3
"""A stand-in for a site's own segmentation program, used by the tests of the external backend.

Reads the input NIfTI (float32 HU, as livernode writes it) and writes a uint8 label map on the
same grid: label 1 where the attenuation lies in [--low, --high]. --mode makes it misbehave the
ways real programs do: fail, hang, answer on another grid, or find nothing.
Usage: threshold_segmenter.py [--low HU] [--high HU] [--mode MODE] [--count-file F] INPUT OUTPUT
"""
import argparse
import gzip
import struct
import sys
import time

import numpy as np


def read_nifti(path):
    raw = gzip.open(path, "rb").read() if path.endswith(".gz") else open(path, "rb").read()
    header = bytearray(raw[:348])
    dims = struct.unpack_from("<8h", header, 40)
    datatype = struct.unpack_from("<h", header, 70)[0]
    offset = int(struct.unpack_from("<f", header, 108)[0])
    if datatype != 16:
        sys.exit(f"unexpected NIfTI datatype {datatype}")
    shape = dims[1:1 + dims[0]]
    data = np.frombuffer(raw[offset:], dtype="<f4", count=int(np.prod(shape)))
    return header, offset, raw[348:offset], data.reshape(shape[::-1])


def write_labels(path, header, extension, labels):
    header = bytearray(header)
    shape = labels.shape[::-1]
    struct.pack_into("<8h", header, 40, len(shape), *shape, *([1] * (7 - len(shape))))
    struct.pack_into("<h", header, 70, 2)        # uint8
    struct.pack_into("<h", header, 72, 8)        # bitpix
    struct.pack_into("<f", header, 112, 0.0)     # scl_slope: none
    struct.pack_into("<f", header, 116, 0.0)
    body = bytes(header) + bytes(extension) + labels.astype(np.uint8).tobytes()
    with gzip.open(path, "wb") as f:
        f.write(body)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--low", type=float, default=90.0)
    p.add_argument("--high", type=float, default=130.0)
    p.add_argument("--mode", default="ok", choices=["ok", "fail", "hang", "wrong-grid", "empty"])
    p.add_argument("--count-file")
    p.add_argument("input")
    p.add_argument("output")
    a = p.parse_args()
    if a.mode == "fail":
        print("model weights not found", file=sys.stderr)
        sys.exit(3)
    if a.mode == "hang":
        time.sleep(60)
    header, _, extension, hu = read_nifti(a.input)
    labels = ((hu >= a.low) & (hu <= a.high)).astype(np.uint8)
    if a.mode == "empty":
        labels[:] = 0
    if a.mode == "wrong-grid":
        labels = labels[:, :, :-1]
    if a.count_file:
        with open(a.count_file, "w") as f:
            f.write(str(int(labels.sum())))
    write_labels(a.output, header, extension, labels)


if __name__ == "__main__":
    main()
