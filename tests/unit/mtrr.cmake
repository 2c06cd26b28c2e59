add_executable(mtrr_test ${CMAKE_CURRENT_LIST_DIR}/mtrr_test.cc)
target_link_libraries(mtrr_test PRIVATE kvmx_gtest)
gtest_discover_tests(mtrr_test)
