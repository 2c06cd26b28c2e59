# Guest page-table walker (kvmx/mmu/walk.c), compiled straight into the test.
add_executable(kvmx_walk_test
  ${CMAKE_CURRENT_LIST_DIR}/walk_test.cc
  ${KVMX_TOP}/kvmx/mmu/walk.c)
target_link_libraries(kvmx_walk_test PRIVATE kvmx_gtest)
# The kernel builds with this warning; keep the C part honest here too.
target_compile_options(kvmx_walk_test PRIVATE
  $<$<COMPILE_LANGUAGE:C>:-Wdeclaration-after-statement>)
gtest_discover_tests(kvmx_walk_test)
