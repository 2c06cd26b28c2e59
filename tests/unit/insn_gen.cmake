# selftests/lib/insn_gen: diff_fuzz's program generator, checked against
# kvmx's decoder (its targets are where it says) without a test host.
add_executable(insn_gen_test
  ${CMAKE_CURRENT_SOURCE_DIR}/insn_gen_test.cc
  ${KVMX_TOP}/selftests/lib/insn_gen.cc
  ${KVMX_TOP}/kvmx/emulate/decode.c)
set_source_files_properties(${KVMX_TOP}/kvmx/emulate/decode.c PROPERTIES
  COMPILE_OPTIONS "-std=gnu11;-Wdeclaration-after-statement")
target_include_directories(insn_gen_test PRIVATE ${KVMX_TOP}/selftests
  ${KVMX_TOP}/include/uapi)
target_link_libraries(insn_gen_test PRIVATE kvmx_gtest)
gtest_discover_tests(insn_gen_test)
