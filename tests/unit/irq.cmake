add_executable(irq_test
  ${CMAKE_CURRENT_LIST_DIR}/irq_test.cc
  ${KVMX_TOP}/kvmx/irq/apic_regs.c
  ${KVMX_TOP}/kvmx/irq/pic.c
  ${KVMX_TOP}/kvmx/irq/ioapic.c)
target_link_libraries(irq_test PRIVATE kvmx_gtest)
gtest_discover_tests(irq_test)
