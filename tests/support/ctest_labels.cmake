# Included by ctest after the doctest-discovered tests (TEST_INCLUDE_FILES, see
# CMakeLists.txt): a test case whose name ends in "(slow)" gets the ctest label
# `slow` beside its area label, so `ctest -LE slow` (scripts/test under ASan) leaves
# it out. COVERGAN_TEST_LISTS names the per-binary lists doctest_discover_tests sets.
foreach(_list IN LISTS COVERGAN_TEST_LISTS)
  foreach(_test IN LISTS ${_list})
    if(_test MATCHES "\\(slow\\)$")
      string(REGEX REPLACE "/.*" "" _area "${_test}")
      set_tests_properties("${_test}" PROPERTIES LABELS "${_area};slow")
    endif()
  endforeach()
endforeach()
