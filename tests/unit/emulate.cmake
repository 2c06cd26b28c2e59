# kvmx/emulate: the MMIO instruction decoder and emulator.
#
# The C sources are compiled straight into the test (they are pure C with no
# kernel headers), with the kernel's -Wdeclaration-after-statement on top.
set(KVMX_EMULATE_C
  ${KVMX_TOP}/kvmx/emulate/decode.c
  ${KVMX_TOP}/kvmx/emulate/emulate.c)
set_source_files_properties(${KVMX_EMULATE_C} PROPERTIES
  COMPILE_OPTIONS "-std=gnu11;-Wdeclaration-after-statement")

add_executable(emulate_test
  ${CMAKE_CURRENT_SOURCE_DIR}/emulate_test.cc
  ${CMAKE_CURRENT_SOURCE_DIR}/emulate_decode_test.cc
  ${CMAKE_CURRENT_SOURCE_DIR}/emulate_native_test.cc
  ${KVMX_EMULATE_C})
target_link_libraries(emulate_test PRIVATE kvmx_gtest)
gtest_discover_tests(emulate_test)
