#!/usr/bin/env python3
"""Writes an abdominal MR liver protocol from one CT series of the phantom, for tests of the MR
series triage: every series takes slices of the CT series as its images (signal in arbitrary
units, no rescale) and the header of one kind of MR series (sequence, timing, image type).

usage: make_mr_study.py CT_SERIES_DIR OUT_DIR
"""
import copy
import glob
import os
import sys

import pydicom
from pydicom.uid import generate_uid

MR_IMAGE_STORAGE = "1.2.840.10008.5.1.4.1.1.4"

# description, ScanningSequence, SequenceVariant, ScanOptions, 2D/3D, TR, TE, flip, ImageType,
# b-value, time points (several phases of a dynamic run in one series)
SERIES = [
    ("t1_vibe_fs_tra_pre", "GR", "SP", "FS", "3D", 3.9, 1.9, 9, "ORIGINAL\\PRIMARY\\M\\ND", None, 1),
    ("t1_vibe_fs_tra_dyn", "GR", "SP", "FS", "3D", 3.9, 1.9, 9, "ORIGINAL\\PRIMARY\\M\\ND", None, 3),
    ("t2_haste_fs_tra", "SE", "SK", "FS", "2D", 1400, 95, 160, "ORIGINAL\\PRIMARY\\M\\ND", None, 1),
    ("ep2d_diff_b50_800", "EP", "SK", "FS", "2D", 4500, 60, 90, "ORIGINAL\\PRIMARY\\DIFFUSION\\NONE", 800, 1),
    ("ep2d_diff_b50_800_ADC", "EP", "SK", "FS", "2D", 4500, 60, 90, "DERIVED\\PRIMARY\\DIFFUSION\\ADC", None, 1),
    ("t1_dixon_opp", "GR", "SP", "", "3D", 6.7, 2.4, 10, "DERIVED\\PRIMARY\\DIXON\\OPP_PHASE", None, 1),
    ("t1_vibe_fs_tra_sub", "GR", "SP", "FS", "3D", 3.9, 1.9, 9, "DERIVED\\PRIMARY\\SUBTRACT", None, 1),
]


def main():
    src, out = sys.argv[1], sys.argv[2]
    slices = [pydicom.dcmread(f) for f in glob.glob(os.path.join(src, "*"))]
    slices.sort(key=lambda d: float(d.ImagePositionPatient[2]))
    slices = slices[len(slices) // 2 - 6: len(slices) // 2 + 6]
    study_uid = generate_uid()
    for number, (desc, seq, variant, options, dim, tr, te, flip, image_type, b, times) in \
            enumerate(SERIES, start=1):
        series_uid = generate_uid()
        folder = os.path.join(out, desc)
        os.makedirs(folder, exist_ok=True)
        for t in range(times):
            for i, ct in enumerate(slices):
                d = copy.deepcopy(ct)
                d.SOPClassUID = MR_IMAGE_STORAGE
                d.file_meta.MediaStorageSOPClassUID = MR_IMAGE_STORAGE
                d.SOPInstanceUID = generate_uid()
                d.file_meta.MediaStorageSOPInstanceUID = d.SOPInstanceUID
                d.Modality = "MR"
                d.StudyInstanceUID = study_uid
                d.SeriesInstanceUID = series_uid
                d.SeriesNumber = number
                d.SeriesDescription = desc
                d.InstanceNumber = t * len(slices) + i + 1
                d.ImageType = image_type
                d.ScanningSequence = seq
                d.SequenceVariant = variant
                d.ScanOptions = options
                d.MRAcquisitionType = dim
                d.RepetitionTime = tr
                d.EchoTime = te
                d.FlipAngle = flip
                d.AcquisitionTime = "%02d%02d00" % (10, 20 + t)
                if times > 1:
                    d.TemporalPositionIdentifier = t + 1
                    d.NumberOfTemporalPositions = times
                if b is not None:
                    d.add_new((0x0018, 0x9087), "FD", float(b))
                for keyword in ("RescaleIntercept", "RescaleSlope", "RescaleType", "KVP",
                                "ContrastBolusAgent", "ContrastBolusStartTime"):
                    if keyword in d:
                        delattr(d, keyword)
                d.save_as(os.path.join(folder, "%04d.dcm" % d.InstanceNumber))


if __name__ == "__main__":
    main()
