# Writes OUTPUT, a C++ source defining the bytes of INPUT as
# livernode::processing::kBuiltinLiverAtlasBytes / kBuiltinLiverAtlasSize.
file(READ "${INPUT}" hex HEX)
string(LENGTH "${hex}" length)
math(EXPR size "${length} / 2")
string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," bytes "${hex}")
string(REGEX REPLACE "((0x..,){32})" "\\1\n" bytes "${bytes}")
file(WRITE "${OUTPUT}.tmp"
  "// Generated from ${INPUT} at build time; do not edit.\n"
  "#include <cstddef>\n"
  "namespace livernode::processing {\n"
  "extern const unsigned char kBuiltinLiverAtlasBytes[];\n"
  "extern const std::size_t kBuiltinLiverAtlasSize;\n"
  "const unsigned char kBuiltinLiverAtlasBytes[] = {\n${bytes}0};\n"
  "const std::size_t kBuiltinLiverAtlasSize = ${size};\n"
  "}  // namespace livernode::processing\n")
file(RENAME "${OUTPUT}.tmp" "${OUTPUT}")
