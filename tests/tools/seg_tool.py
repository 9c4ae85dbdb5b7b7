#!/usr/bin/python3
"""What a radiologist's viewer does to a SEG, and how the tests read results, with pydicom.

  seg_tool.py edit IN OUT    erase the smallest lesion (its segment stays, empty), trim the
                             liver's two most cranial slices, and save as another tool would
                             (new SOP and series UIDs, Manufacturer OHIF); prints the volumes of
                             the edited masks as JSON: liver_ml (liver with the remaining lesions),
                             tumour_ml, erased, lesions_left, sop_instance_uid
  seg_tool.py remnant IN OUT  add a "Future liver remnant" segment drawn over the liver on the
                             patient's left half, as another tool; prints flr_ml (its volume
                             without the lesions), remnant_ml and sop_instance_uid as JSON
  seg_tool.py retag IN OUT   the same SEG saved by another tool (new UIDs, Manufacturer OHIF)
  seg_tool.py break IN OUT   the same SEG without its SegmentSequence (unusable), new UIDs
  seg_tool.py segments IN    JSON list of [label, SegmentAlgorithmType]
  seg_tool.py sr IN          JSON: numeric values per measurement group (by tracking
                             identifier, then concept meaning) and every text value
"""
import copy
import json
import sys

import numpy as np
import pydicom
from pydicom.uid import generate_uid


def frames(ds):
    arr = ds.pixel_array
    if arr.ndim == 2:
        arr = arr[None]
    info = []
    for item in ds.PerFrameFunctionalGroupsSequence:
        number = int(item.SegmentIdentificationSequence[0].ReferencedSegmentNumber)
        ipp = tuple(round(float(v), 2) for v in item.PlanePositionSequence[0].ImagePositionPatient)
        info.append((number, ipp))
    return arr, info


def voxel_ml(ds):
    measures = ds.SharedFunctionalGroupsSequence[0].PixelMeasuresSequence[0]
    spacing = [float(v) for v in measures.PixelSpacing]
    between = float(measures.get("SpacingBetweenSlices", measures.SliceThickness))
    return spacing[0] * spacing[1] * between / 1000.0


def save_with_frames(ds, frames, dst):
    """Writes `ds` with these binary frames (bit-packed), as another tool's new object."""
    ds.NumberOfFrames = len(frames)
    packed = np.packbits(frames.astype(np.uint8).ravel(), bitorder="little").tobytes()
    if len(packed) % 2:
        packed += b"\0"
    ds.PixelData = packed
    new_identity(ds)
    ds.save_as(dst, write_like_original=False)


def new_identity(ds):
    ds.SOPInstanceUID = generate_uid()
    ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    ds.SeriesInstanceUID = generate_uid()
    ds.SeriesNumber = 301
    ds.SeriesDescription = "Segmentation edited in the viewer"
    ds.Manufacturer = "OHIF"
    ds.ManufacturerModelName = "OHIF Viewer"
    ds.SoftwareVersions = "3.8.0"


def edit(src, dst):
    ds = pydicom.dcmread(src)
    arr, info = frames(ds)
    labels = {int(s.SegmentNumber): str(s.SegmentLabel) for s in ds.SegmentSequence}
    lesion_numbers = [int(s.SegmentNumber) for s in ds.SegmentSequence
                      if s.SegmentedPropertyTypeCodeSequence[0].CodeValue == "108369006"]
    liver_number = next(int(s.SegmentNumber) for s in ds.SegmentSequence
                        if str(s.SegmentLabel) == "Liver")
    if not lesion_numbers:
        sys.exit("the SEG has no lesion segment to erase")
    size = {n: sum(int(arr[i].sum()) for i, (m, _) in enumerate(info) if m == n)
            for n in lesion_numbers}
    erased = min(lesion_numbers, key=lambda n: size[n])
    liver_z = sorted({ipp[2] for (m, ipp) in info if m == liver_number}, reverse=True)
    trimmed_z = set(liver_z[:2])  # LPS: larger z is more cranial
    keep = [i for i, (m, ipp) in enumerate(info)
            if m != erased and not (m == liver_number and ipp[2] in trimmed_z)]
    # Expected volumes of the edited masks, by voxel position.
    liver, tumour = set(), set()
    for i in keep:
        m, ipp = info[i]
        if m != liver_number and m not in lesion_numbers:
            continue
        rows, cols = np.nonzero(arr[i])
        points = {(ipp, int(r), int(c)) for r, c in zip(rows, cols)}
        liver |= points
        if m in lesion_numbers:
            tumour |= points
    per_frame = ds.PerFrameFunctionalGroupsSequence
    ds.PerFrameFunctionalGroupsSequence = pydicom.Sequence([per_frame[i] for i in keep])
    save_with_frames(ds, arr[keep], dst)
    ml = voxel_ml(ds)
    print(json.dumps({"liver_ml": len(liver) * ml, "tumour_ml": len(tumour) * ml,
                      "erased": labels[erased],
                      "lesions_left": len(lesion_numbers) - 1,
                      "sop_instance_uid": ds.SOPInstanceUID}))


def remnant(src, dst):
    ds = pydicom.dcmread(src)
    arr, info = frames(ds)
    liver_item = next(s for s in ds.SegmentSequence if str(s.SegmentLabel) == "Liver")
    liver_number = int(liver_item.SegmentNumber)
    lesion_numbers = {int(s.SegmentNumber) for s in ds.SegmentSequence
                      if s.SegmentedPropertyTypeCodeSequence[0].CodeValue == "108369006"}
    number = max(int(s.SegmentNumber) for s in ds.SegmentSequence) + 1
    item = copy.deepcopy(liver_item)
    item.SegmentNumber = number
    item.SegmentLabel = "Future liver remnant"
    item.SegmentAlgorithmType = "MANUAL"
    for keyword in ("SegmentAlgorithmName", "SegmentationAlgorithmIdentificationSequence"):
        if keyword in item:
            delattr(item, keyword)
    ds.SegmentSequence.append(item)
    cols = arr.shape[2]
    lesions = set()
    for i, (m, ipp) in enumerate(info):
        if m in lesion_numbers:
            rows_, cols_ = np.nonzero(arr[i])
            lesions |= {(ipp, int(r), int(c)) for r, c in zip(rows_, cols_)}
    new_frames, new_items, drawn = [], [], set()
    for i, (m, ipp) in enumerate(info):
        if m != liver_number:
            continue
        frame = arr[i].copy()
        frame[:, : cols // 2] = 0  # image columns run towards the patient's left
        if not frame.any():
            continue
        rows_, cols_ = np.nonzero(frame)
        drawn |= {(ipp, int(r), int(c)) for r, c in zip(rows_, cols_)}
        per_frame = copy.deepcopy(ds.PerFrameFunctionalGroupsSequence[i])
        per_frame.SegmentIdentificationSequence[0].ReferencedSegmentNumber = number
        new_frames.append(frame)
        new_items.append(per_frame)
    if not new_frames:
        sys.exit("no liver on the patient's left half")
    ds.PerFrameFunctionalGroupsSequence = pydicom.Sequence(
        list(ds.PerFrameFunctionalGroupsSequence) + new_items)
    all_frames = np.concatenate([arr, np.stack(new_frames)])
    save_with_frames(ds, all_frames, dst)
    ml = voxel_ml(ds)
    print(json.dumps({"flr_ml": len(drawn - lesions) * ml, "remnant_ml": len(drawn) * ml,
                      "sop_instance_uid": ds.SOPInstanceUID}))


def retag(src, dst):
    ds = pydicom.dcmread(src)
    new_identity(ds)
    ds.save_as(dst, write_like_original=False)


def break_seg(src, dst):
    ds = pydicom.dcmread(src)
    del ds.SegmentSequence
    new_identity(ds)
    ds.save_as(dst, write_like_original=False)


def segments(src):
    ds = pydicom.dcmread(src, stop_before_pixels=True)
    print(json.dumps([[str(s.SegmentLabel), str(s.SegmentAlgorithmType)]
                      for s in ds.SegmentSequence]))


def sr(src):
    ds = pydicom.dcmread(src)
    groups, texts = {}, []

    def walk(items, group):
        for item in items:
            name = item.ConceptNameCodeSequence[0].CodeMeaning if "ConceptNameCodeSequence" in item else ""
            if item.ValueType == "TEXT":
                texts.append(str(item.TextValue))
                if name == "Tracking Identifier" and group is not None:
                    group["__id__"] = str(item.TextValue)
            elif item.ValueType == "NUM" and group is not None:
                value = item.MeasuredValueSequence[0].NumericValue if "MeasuredValueSequence" in item else None
                if value is not None:
                    group.setdefault(name, float(value))
            if "ContentSequence" in item:
                if item.ValueType == "CONTAINER" and name == "Measurement Group":
                    inner = {}
                    walk(item.ContentSequence, inner)
                    groups[inner.pop("__id__", str(len(groups)))] = inner
                else:
                    walk(item.ContentSequence, group)

    walk(ds.ContentSequence, None)
    print(json.dumps({"groups": groups, "texts": texts,
                      "series_description": str(ds.get("SeriesDescription", ""))}))


if __name__ == "__main__":
    command = sys.argv[1]
    if command == "edit":
        edit(sys.argv[2], sys.argv[3])
    elif command == "remnant":
        remnant(sys.argv[2], sys.argv[3])
    elif command == "retag":
        retag(sys.argv[2], sys.argv[3])
    elif command == "break":
        break_seg(sys.argv[2], sys.argv[3])
    elif command == "segments":
        segments(sys.argv[2])
    elif command == "sr":
        sr(sys.argv[2])
    else:
        sys.exit("unknown command " + command)
