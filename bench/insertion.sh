#!/usr/bin/env bash
# Lesion insertion bench: on every real case with a manual liver in ../shared/data/real, for each
# seed, a large subcapsular hypodense tumour (26 mm radius, centre 10 mm inside the surface,
# 60 HU below the liver with a rim 40 HU below), a medium one (12 mm, 10 mm deep, -40 HU) and a
# small deep one (7 mm, 15 mm deep, -35 HU) are written into the series that carries the truth
# (bench/tumour_insertion.py); `livernode analyze` runs on it and each tumour is scored.
#   bench/insertion.sh [--livernode BIN] [--data DIR] [--seeds "1 2 3 4"] [--keep]
# Other lesions reported include the case's own tumours (0697, 1720, 2144 have some).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
livernode="$here/../build/node/livernode"
data="$here/../../shared/data/real"
seeds="1 2 3 4"
keep=0
while [ $# -gt 0 ]; do
  case "$1" in
    --livernode) livernode="$2"; shift 2 ;;
    --data) data="$2"; shift 2 ;;
    --seeds) seeds="$2"; shift 2 ;;
    --keep) keep=1; shift ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done
# Debian's interpreter, where python3-pydicom, -numpy and -scipy are installed.
python=python3
[ -x /usr/bin/python3 ] && python=/usr/bin/python3
work=$(mktemp -d)
source "$here/lib.sh"
bench_cleanup_on_exit
for case_dir in "$data"/*/; do
  case=$(basename "$case_dir")
  [ -d "$case_dir/truth" ] || continue
  for seed in $seeds; do
    run="$work/${case}_seed$seed"
    "$python" "$here/tumour_insertion.py" insert --data "$data" --case "$case" --out "$run" \
      --seed "$seed" 26:10:-60:-40 12:10:-40 7:15:-35 > "$run.log"
    "$livernode" analyze "$run/ct" --out "$run/out" --quiet > /dev/null 2>&1 || true
    "$python" "$here/tumour_insertion.py" score "$run"
  done
done
if [ "$keep" = 1 ]; then echo "runs kept in $work"; fi
