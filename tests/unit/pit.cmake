add_executable(pit_test
  ${CMAKE_CURRENT_LIST_DIR}/pit_test.cc
  ${KVMX_TOP}/kvmx/irq/pit_regs.c)
target_link_libraries(pit_test PRIVATE kvmx_gtest)
gtest_discover_tests(pit_test)
