# Writes OUTPUT, a C++ source defining the bytes of the file INPUT as
# livernode::node::<SYMBOL>[] and livernode::node::<SYMBOL>Size (the bytes, without a
# terminating NUL). Run with cmake -P at build time, so that a resource such as the admin page
# is edited as the file it is and built into the program.
file(READ "${INPUT}" hex HEX)
string(LENGTH "${hex}" length)
math(EXPR size "${length} / 2")
string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," bytes "${hex}")
string(REGEX REPLACE "((0x..,){24})" "\\1\n" bytes "${bytes}")
file(WRITE "${OUTPUT}.tmp"
  "// Generated from ${INPUT} at build time; do not edit.\n"
  "#include <cstddef>\n"
  "namespace livernode::node {\n"
  "extern const unsigned char ${SYMBOL}[];\n"
  "extern const std::size_t ${SYMBOL}Size;\n"
  "const unsigned char ${SYMBOL}[] = {\n${bytes}0};\n"
  "const std::size_t ${SYMBOL}Size = ${size};\n"
  "}  // namespace livernode::node\n")
file(RENAME "${OUTPUT}.tmp" "${OUTPUT}")
