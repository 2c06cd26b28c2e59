add_executable(spte_test ${CMAKE_CURRENT_LIST_DIR}/spte_test.cc)
target_link_libraries(spte_test PRIVATE kvmx_gtest)
gtest_discover_tests(spte_test)
