#!/usr/bin/env bash
# Checks that the C++ files of the formatted rooms are as clang-format (Debian 12: version 14)
# writes them with the project's .clang-format (Google style, 100 columns).
#   bash scripts/check_format.sh [--fix] [SOURCE_DIR]
# Lists every file clang-format would change and exits 1 when there is one, 0 when there is
# none; --fix formats those files in place instead. CLANG_FORMAT names another binary.
set -euo pipefail

# The rooms whose sources are kept formatted.
ROOMS=(config dicom processing study node phantom bench tests)

fix=0
if [ "${1:-}" = "--fix" ]; then
  fix=1
  shift
fi
cd "${1:-$(dirname "$0")/..}"

CLANG_FORMAT="${CLANG_FORMAT:-}"
if [ -z "$CLANG_FORMAT" ]; then
  for candidate in clang-format-14 clang-format; do
    if command -v "$candidate" >/dev/null 2>&1; then
      CLANG_FORMAT="$candidate"
      break
    fi
  done
fi
if [ -z "$CLANG_FORMAT" ] || ! command -v "$CLANG_FORMAT" >/dev/null 2>&1; then
  echo "check_format: clang-format is not installed (Debian package clang-format;" \
    "scripts/install-deps.sh installs it)" >&2
  exit 2
fi
version="$("$CLANG_FORMAT" --version)"
case "$version" in
  *" version 14."*) ;;
  *) echo "check_format: note: $version; the files are formatted with version 14" >&2 ;;
esac

changed=()
while IFS= read -r -d '' file; do
  if ! "$CLANG_FORMAT" --style=file "$file" | cmp -s - "$file"; then changed+=("$file"); fi
done < <(find "${ROOMS[@]}" -type f \( -name '*.h' -o -name '*.cpp' \) -print0 | sort -z)

if [ "${#changed[@]}" -eq 0 ]; then
  echo "check_format: ${ROOMS[*]}: every file is formatted"
  exit 0
fi
if [ "$fix" -eq 1 ]; then
  "$CLANG_FORMAT" --style=file -i "${changed[@]}"
  printf 'check_format: formatted %s\n' "${changed[@]}"
  exit 0
fi
printf '%s\n' "${changed[@]}"
echo "check_format: ${#changed[@]} file(s) not formatted; bash scripts/check_format.sh --fix" \
  "formats them" >&2
exit 1
