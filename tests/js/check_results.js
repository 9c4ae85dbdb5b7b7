#!/usr/bin/env node
// Reads the result objects of `livernode analyze` the way web viewers do, with dcmjs:
//  - every SEG through the Cornerstone adapter (generateToolState) against the source images:
//    one label map per SEG, and the voxel count of every segment as summary.json lists it;
//  - the SR: a volume for every segment of every SEG (equal to what the SEG holds, or a note
//    saying why not), the RECIST axes as SCOORD3D polylines in the source's frame of reference,
//    the segment references, the lesions' Couinaud segments as finding sites, and every code
//    either from a standard scheme or one of the product's concepts coded by its OID (ISO_OID).
// Usage: node check_results.js OUT/summary.json
// Prints one line per check and exits 1 when any failed.
"use strict";

const fs = require("fs");
const path = require("path");
const dcmjs = require("dcmjs");

const { DicomMessage, DicomMetaDictionary } = dcmjs.data;

let failures = 0;
let passes = 0;
function check(ok, what) {
  if (ok) {
    passes++;
    console.log("ok   " + what);
  } else {
    failures++;
    console.log("FAIL " + what);
  }
}

function first(x) {
  return Array.isArray(x) ? x[0] : x;
}
function list(x) {
  if (x === undefined || x === null) return [];
  return Array.isArray(x) ? x : [x];
}

function readDataset(file) {
  const buffer = fs.readFileSync(file);
  const arrayBuffer = buffer.buffer.slice(buffer.byteOffset, buffer.byteOffset + buffer.byteLength);
  const message = DicomMessage.readFile(arrayBuffer);
  const ds = DicomMetaDictionary.naturalizeDataset(message.dict);
  ds._meta = DicomMetaDictionary.namifyDataset(message.meta);
  return { ds, arrayBuffer };
}

function walk(dir, out) {
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, entry.name);
    if (entry.isDirectory()) walk(p, out);
    else out.push(p);
  }
  return out;
}

// Header of every source image under `input`, by series.
function sourceSeries(input) {
  const bySeries = new Map();
  for (const file of walk(input, [])) {
    let ds;
    try {
      const buffer = fs.readFileSync(file);
      const arrayBuffer = buffer.buffer.slice(buffer.byteOffset, buffer.byteOffset + buffer.byteLength);
      const message = DicomMessage.readFile(arrayBuffer, { untilTag: "7FE00010" });
      ds = DicomMetaDictionary.naturalizeDataset(message.dict);
    } catch (e) {
      continue; // not DICOM
    }
    if (!ds.SeriesInstanceUID || !ds.ImagePositionPatient) continue;
    if (!bySeries.has(ds.SeriesInstanceUID)) bySeries.set(ds.SeriesInstanceUID, []);
    bySeries.get(ds.SeriesInstanceUID).push({ file, ds });
  }
  return bySeries;
}

function close(a, b, tolerance) {
  return a.length === b.length && a.every((v, i) => Math.abs(Number(v) - Number(b[i])) <= tolerance);
}

// A Cornerstone-style metadata provider over the source images.
function provider(images) {
  const byId = new Map(images.map((im) => [im.id, im.ds]));
  return {
    get(type, imageId) {
      const ds = byId.get(imageId);
      if (!ds) return undefined;
      const iop = ds.ImageOrientationPatient.map(Number);
      switch (type) {
        case "imagePlaneModule":
          return {
            rowCosines: iop.slice(0, 3),
            columnCosines: iop.slice(3, 6),
            rows: ds.Rows,
            columns: ds.Columns,
            imagePositionPatient: ds.ImagePositionPatient.map(Number),
            frameOfReferenceUID: ds.FrameOfReferenceUID,
          };
        case "generalSeriesModule":
          return { seriesInstanceUID: ds.SeriesInstanceUID, modality: ds.Modality };
        case "imagePixelModule":
          return { rows: ds.Rows, columns: ds.Columns };
        case "sopCommonModule":
          return { sopInstanceUID: ds.SOPInstanceUID, sopClassUID: ds.SOPClassUID };
        case "instance":
          return ds;
        default:
          return undefined;
      }
    },
  };
}

function checkSeg(object, file, images, label) {
  const { ds, arrayBuffer } = readDataset(file);
  check(ds.SegmentsOverlap === "NO", `${label}: SegmentsOverlap is NO (got ${ds.SegmentsOverlap})`);
  check(!!ds.SeriesDescription, `${label}: series description "${ds.SeriesDescription}"`);
  // The source images in the SEG's plane, in order along the normal, as a viewer stacks them.
  const shared = first(ds.SharedFunctionalGroupsSequence);
  const iop = first(shared.PlaneOrientationSequence).ImageOrientationPatient.map(Number);
  const normal = [
    iop[1] * iop[5] - iop[2] * iop[4],
    iop[2] * iop[3] - iop[0] * iop[5],
    iop[0] * iop[4] - iop[1] * iop[3],
  ];
  const stack = images
    .filter((im) => close(im.ds.ImageOrientationPatient, iop, 1e-3))
    .sort((a, b) => {
      const pa = a.ds.ImagePositionPatient.map(Number), pb = b.ds.ImagePositionPatient.map(Number);
      const da = pa[0] * normal[0] + pa[1] * normal[1] + pa[2] * normal[2];
      const db = pb[0] * normal[0] + pb[1] * normal[1] + pb[2] * normal[2];
      return da - db;
    });
  const imageIds = stack.map((im) => im.id);
  const state = dcmjs.adapters.Cornerstone.Segmentation.generateToolState(
    imageIds, arrayBuffer, provider(stack));
  check(state && state.labelmapBufferArray.length === 1,
        `${label}: one label map (got ${state ? state.labelmapBufferArray.length : "none"})`);
  if (!state) return;
  const counts = new Map();
  const labels = new Uint16Array(state.labelmapBufferArray[0]);
  for (let i = 0; i < labels.length; i++) {
    if (labels[i]) counts.set(labels[i], (counts.get(labels[i]) || 0) + 1);
  }
  for (const segment of object.segments) {
    const got = counts.get(segment.number) || 0;
    check(got === segment.voxels,
          `${label}: segment ${segment.number} "${segment.label}" holds ${got} voxels, summary.json ${segment.voxels}`);
  }
  check(counts.size === object.segments.length,
        `${label}: ${counts.size} segments in the label map, ${object.segments.length} in summary.json`);
}

// Every content item of the SR tree with its parent chain.
function contentItems(items, parents, out) {
  for (const item of list(items)) {
    out.push({ item, parents });
    if (item.ContentSequence) contentItems(item.ContentSequence, parents.concat([item]), out);
  }
  return out;
}
function conceptOf(item) {
  const c = first(item.ConceptNameCodeSequence);
  return c ? `${c.CodingSchemeDesignator}:${c.CodeValue || c.LongCodeValue}` : "";
}

// Every code of a dataset (items of any sequence that carry a Code Meaning), nested ones included.
function codesOf(ds, out) {
  for (const [key, value] of Object.entries(ds)) {
    if (!Array.isArray(value)) continue;
    for (const item of value) {
      if (!item || typeof item !== "object" || Array.isArray(item)) continue;
      if (item.CodeMeaning !== undefined) out.push({ key, code: item });
      codesOf(item, out);
    }
  }
  return out;
}

// Coding schemes the results use, all of PS3.16 Table 8-1: DICOM, SNOMED CT, LOINC, UCUM, UMLS,
// RFC 5646 languages, and ISO_OID for the product's own concepts (their OIDs under one
// UUID-derived arc 2.25.<n>). No private scheme ("99...").
const kSchemes = new Set(["DCM", "SCT", "LN", "UCUM", "UMLS", "RFC5646", "ISO_OID"]);
function checkCodes(ds, what, inherited) {
  const codes = codesOf(ds, []).filter((c) => !inherited.has(c.code.CodingSchemeDesignator));
  const bad = codes.filter((c) => !kSchemes.has(c.code.CodingSchemeDesignator));
  check(bad.length === 0, `${what}: ${codes.length} codes, all of ${[...kSchemes].join(", ")}` +
        (bad.length ? ` (not: ${JSON.stringify(bad.slice(0, 3))})` : ""));
  const arcs = new Set();
  let malformed = 0;
  for (const { code } of codes) {
    if (code.CodingSchemeDesignator !== "ISO_OID") continue;
    const oid = code.CodeValue || code.LongCodeValue || "";
    const m = /^(2\.25\.[1-9][0-9]*)\.[1-9][0-9]*$/.exec(oid);
    if (m) arcs.add(m[1]); else malformed++;
  }
  check(malformed === 0 && arcs.size <= 1,
        `${what}: product concepts coded by OIDs under one arc (${[...arcs].join(", ")}, ${malformed} malformed)`);
  check(ds.CodingSchemeIdentificationSequence === undefined ||
        list(ds.CodingSchemeIdentificationSequence).every((i) => !/^99/.test(i.CodingSchemeDesignator)),
        `${what}: no private coding scheme declared`);
  return codes;
}

function checkSr(analysis, file, segObjects, inheritedSchemes) {
  const { ds } = readDataset(file);
  const all = contentItems(ds.ContentSequence, [ds], []);
  const groups = all.filter((e) => e.item.ValueType === "CONTAINER" && conceptOf(e.item) === "DCM:125007");
  // Groups by the segment they reference.
  const bySegment = new Map();
  for (const g of groups) {
    const children = list(g.item.ContentSequence);
    const image = children.find((c) => c.ValueType === "IMAGE");
    if (!image) continue;
    const ref = first(image.ReferencedSOPSequence);
    const key = `${ref.ReferencedSOPInstanceUID}/${list(ref.ReferencedSegmentNumber)[0]}`;
    bySegment.set(key, children);
  }
  const volumeOf = (children) => {
    const num = children.find((c) => c.ValueType === "NUM" && conceptOf(c) === "SCT:118565006");
    return num ? Number(first(num.MeasuredValueSequence).NumericValue) : undefined;
  };
  const methodOf = (children) => {
    const num = children.find((c) => c.ValueType === "NUM" && conceptOf(c) === "SCT:118565006");
    const method = num && list(num.ContentSequence).find((c) => conceptOf(c) === "SCT:370129005");
    return method ? first(method.ConceptCodeSequence).CodeMeaning : undefined;
  };
  const notes = (children) =>
    children.filter((c) => c.ValueType === "TEXT" && conceptOf(c) === "DCM:121106").map((c) => c.TextValue);
  for (const seg of segObjects) {
    for (const segment of seg.segments) {
      const label = `SR: ${seg.content} segment ${segment.number} "${segment.label}"`;
      const children = bySegment.get(`${seg.sop_instance_uid}/${segment.number}`);
      check(!!children, `${label} has a measurement group referencing it`);
      if (!children) continue;
      const volume = volumeOf(children);
      if (segment.voxels === segment.analysis_voxels) {
        check(volume !== undefined && Math.abs(volume - segment.volume_ml) <= 0.051,
              `${label}: volume ${volume} mL, SEG holds ${segment.volume_ml.toFixed(2)} mL`);
      } else {
        check(notes(children).some((n) => n.includes("interpolated")),
              `${label}: volume ${volume} mL differs from the SEG's ${segment.volume_ml.toFixed(2)} mL and a note says why`);
      }
      check(methodOf(children) === "Sum of segmented voxel volumes",
            `${label}: volume method "${methodOf(children)}"`);
    }
  }
  // RECIST axes: a POLYLINE SCOORD3D under the long and short axis NUM of every lesion.
  const frame = analysis.frame_of_reference_uid;
  let polylines = 0;
  for (const lesion of analysis.lesions) {
    if (!(lesion.longest_diameter_mm > 0)) continue;
    const group = groups.find((g) =>
      list(g.item.ContentSequence).some((c) => conceptOf(c) === "DCM:112039" && c.TextValue === `Lesion ${lesion.number}`));
    check(!!group, `SR: lesion ${lesion.number} has a measurement group`);
    if (!group) continue;
    const children = list(group.item.ContentSequence);
    for (const [concept, ends, name] of [["SCT:103339001", lesion.long_axis_lps_mm, "long"],
                                         ["SCT:103340004", lesion.short_axis_lps_mm, "short"]]) {
      const num = children.find((c) => c.ValueType === "NUM" && conceptOf(c) === concept);
      const scoord = num && list(num.ContentSequence).find((c) => c.ValueType === "SCOORD3D");
      const data = scoord ? list(scoord.GraphicData).map(Number) : [];
      const ok = !!scoord && scoord.GraphicType === "POLYLINE" && scoord.RelationshipType === "INFERRED FROM" &&
                 scoord.ReferencedFrameOfReferenceUID === frame &&
                 close(data, ends[0].concat(ends[1]), 0.01);
      check(ok, `SR: lesion ${lesion.number} ${name} axis as SCOORD3D POLYLINE ${JSON.stringify(data)}`);
      if (ok) polylines++;
    }
    if (lesion.couinaud_segments && lesion.couinaud_segments.length) {
      const sites = children.filter((c) => conceptOf(c) === "SCT:363698007").map((c) => first(c.ConceptCodeSequence).CodeMeaning);
      check(sites.length === 1 + lesion.couinaud_segments.length,
            `SR: lesion ${lesion.number} finding sites ${JSON.stringify(sites)}`);
    }
  }
  const expected = polylines > 0 ? "1.2.840.10008.5.1.4.1.1.88.34" : "1.2.840.10008.5.1.4.1.1.88.33";
  check(ds.SOPClassUID === expected, `SR: SOP class ${ds.SOPClassUID} (${polylines} polylines)`);
  const codes = checkCodes(ds, "SR", inheritedSchemes);
  check(codes.some(({ code }) => code.CodingSchemeDesignator === "ISO_OID" &&
                                 code.CodeMeaning === "Future liver remnant") ||
        !analysis.surgical_plan,
        "SR: the future liver remnant as a product concept (ISO_OID)");
}

function main() {
  const summaryPath = process.argv[2];
  if (!summaryPath) {
    console.error("usage: node check_results.js OUT/summary.json");
    process.exit(64);
  }
  const out = path.dirname(summaryPath);
  const summary = JSON.parse(fs.readFileSync(summaryPath, "utf8"));
  const series = sourceSeries(summary.input);
  let segs = 0;
  for (const analysis of summary.analyses) {
    const reference = analysis.reference_series_instance_uid;
    if (!reference) continue;
    const images = (series.get(reference) || []).map((im, i) => ({ id: `file:${i}:${im.file}`, ds: im.ds }));
    // Codes the results copy from the source (its procedure codes, say) are the source's.
    const inherited = new Set();
    for (const im of images.slice(0, 1))
      for (const { code } of codesOf(im.ds, [])) inherited.add(code.CodingSchemeDesignator);
    for (const scheme of kSchemes) inherited.delete(scheme);
    const segObjects = analysis.objects.filter((o) => o.kind === "seg");
    for (const o of segObjects) {
      segs++;
      checkSeg(o, path.join(out, o.path), images, `SEG ${o.path} (${o.content})`);
      checkCodes(readDataset(path.join(out, o.path)).ds, `SEG ${o.path}`, inherited);
    }
    const sr = analysis.objects.find((o) => o.kind === "sr");
    check(!!sr || segObjects.length === 0, "an SR beside the SEGs");
    if (sr) checkSr(analysis, path.join(out, sr.path), segObjects, inherited);
  }
  check(segs > 0, `${segs} SEG objects read`);
  console.log(`${passes} checks passed, ${failures} failed`);
  process.exit(failures ? 1 : 0);
}

main();
