add_executable(iobus_test
  ${CMAKE_CURRENT_LIST_DIR}/iobus_test.cc
  ${KVMX_TOP}/kvmx/iobus.c)
target_link_libraries(iobus_test PRIVATE kvmx_gtest)
gtest_discover_tests(iobus_test)
