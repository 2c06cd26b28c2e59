# The shadow MMU's path computation (kvmx/mmu/shadow_path.h) against the
# real guest walker (kvmx/mmu/walk.c), compiled straight into the test.
add_executable(shadow_path_test
  ${CMAKE_CURRENT_LIST_DIR}/shadow_path_test.cc
  ${KVMX_TOP}/kvmx/mmu/walk.c)
target_link_libraries(shadow_path_test PRIVATE kvmx_gtest)
gtest_discover_tests(shadow_path_test)
