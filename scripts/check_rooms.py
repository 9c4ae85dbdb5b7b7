#!/usr/bin/env python3
"""Checks that every room includes only the rooms below it (README, "How it is built").

A room's files (its include/ and src/ trees) may include headers of the rooms listed for it;
anything else is an arrow pointing back up, which this check reports with file and line.
Exit status 0 when every include goes down, 1 otherwise. Usage: check_rooms.py [SOURCE_DIR]
"""
import pathlib
import re
import sys

# room -> the rooms it may include (besides itself); version.h (generated) is everyone's.
ALLOWED = {
    "config": set(),
    "processing": set(),
    "dicom": {"processing"},
    "phantom": {"processing"},
    "study": {"config", "dicom", "processing"},
    "node": {"config", "dicom", "processing", "study", "phantom"},
}
# node's own rooms, in the same way: node/<room>/ (and runtime.h, what they share).
NODE_ALLOWED = {
    "store": set(),
    "ingest": {"store", "runtime"},
    "workflow": {"ingest", "store", "runtime"},
    "http": {"ingest", "store", "runtime"},
    "cli": {"ingest", "store", "workflow", "http", "runtime"},
    "runtime": {"ingest", "store"},
}
INCLUDE = re.compile(r'^\s*#\s*include\s+"livernode/([a-z_]+)(?:/([a-z_]+)/)?([^"]*)"')


def node_room_of(path: pathlib.Path) -> str:
    parts = path.parts
    if path.name == "runtime.h":
        return "runtime"
    for room in NODE_ALLOWED:
        if room in parts:
            return room
    return ""


def main() -> int:
    root = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else ".").resolve()
    problems = []
    for room, allowed in ALLOWED.items():
        for path in sorted((root / room).rglob("*")):
            if path.suffix not in (".h", ".cpp") or not path.is_file():
                continue
            for number, line in enumerate(path.read_text(errors="replace").splitlines(), 1):
                m = INCLUDE.match(line)
                if not m or (m.group(1) == "version" and m.group(3) == ".h"):
                    continue
                target = m.group(1)
                where = f"{path.relative_to(root)}:{number}"
                if target != room and target not in allowed:
                    problems.append(f"{where}: {room}/ includes {target}/ ({line.strip()})")
                    continue
                if room == "node" and target == "node":
                    src = node_room_of(path.relative_to(root))
                    dst = m.group(2) or ("runtime" if m.group(3) == "runtime.h" else "")
                    if src and dst and dst != src and dst not in NODE_ALLOWED[src]:
                        problems.append(f"{where}: node/{src} includes node/{dst} ({line.strip()})")
    for p in problems:
        print(p)
    if problems:
        print(f"{len(problems)} include(s) pointing back up between rooms")
        return 1
    print("rooms: every include points down")
    return 0


if __name__ == "__main__":
    sys.exit(main())
