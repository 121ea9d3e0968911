# Build-time helper: writes the bytes of IN as a C array named SYMBOL into OUT
# (cmake -DIN=... -DOUT=... -DSYMBOL=... -P embed_file.cmake).
file(READ "${IN}" hex HEX)
string(LENGTH "${hex}" n)
math(EXPR size "${n} / 2")
string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," body "${hex}")
string(REGEX REPLACE "(0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,)" "\\1\n" body "${body}")
file(WRITE "${OUT}.tmp" "/* Generated from ${IN} by cmake/embed_file.cmake. */\n#include <stddef.h>\nconst unsigned char ${SYMBOL}[] = {\n${body}\n};\nconst size_t ${SYMBOL}_size = ${size};\n")
file(RENAME "${OUT}.tmp" "${OUT}")
