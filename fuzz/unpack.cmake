# libFuzzer target for the layer unpacker. Included by the top-level CMakeLists.txt when
# MYDOCK_FUZZ is ON (clang only), after add_subdirectory(src/...):
#   if(MYDOCK_FUZZ) include(fuzz/unpack.cmake) endif()
# Run it as root (devices, owners, trusted xattrs): see the comment in fuzz_unpack.cpp.
add_executable(fuzz_unpack ${PROJECT_SOURCE_DIR}/fuzz/fuzz_unpack.cpp)
target_compile_options(fuzz_unpack PRIVATE -fsanitize=fuzzer,address,undefined)
target_link_options(fuzz_unpack PRIVATE -fsanitize=fuzzer,address,undefined)
target_link_libraries(fuzz_unpack PRIVATE mydock_image)
# Coverage feedback from the code under test, not just from the harness.
target_compile_options(mydock_image PRIVATE -fsanitize=fuzzer-no-link)
