add_executable(mce_test ${CMAKE_CURRENT_LIST_DIR}/mce_test.cc)
target_link_libraries(mce_test PRIVATE kvmx_gtest)
gtest_discover_tests(mce_test)
