# libFuzzer target for the layer unpacker, included by fuzz/CMakeLists.txt when MYDOCK_FUZZ
# is ON (clang; the top CMakeLists already builds every library with
# -fsanitize=fuzzer-no-link,address,undefined). Run it as root (devices, owners, trusted
# xattrs); see the comment at the top of fuzz_unpack.cpp. Seeds: fuzz/make_seeds.sh.
add_executable(fuzz_unpack ${CMAKE_CURRENT_LIST_DIR}/fuzz_unpack.cpp)
target_link_libraries(fuzz_unpack PRIVATE mydock_image mydock_common)
target_link_options(fuzz_unpack PRIVATE -fsanitize=fuzzer)
