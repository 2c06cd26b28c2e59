add_executable(slots_test
  ${CMAKE_CURRENT_LIST_DIR}/slots_test.cc
  ${KVMX_TOP}/kvmx/slots.c)
target_link_libraries(slots_test PRIVATE kvmx_gtest)
gtest_discover_tests(slots_test)
