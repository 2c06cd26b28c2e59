add_executable(vmx_caps_test
  ${CMAKE_CURRENT_LIST_DIR}/vmx_caps_test.cc
  ${KVMX_TOP}/kvmx/vmx/caps.c)
target_link_libraries(vmx_caps_test PRIVATE kvmx_gtest)
gtest_discover_tests(vmx_caps_test)
