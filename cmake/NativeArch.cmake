# COVERGAN_NATIVE: compile our CPU kernels (im2col, batch norm, activations, Adam) for
# this machine's vector units, as ggml's GGML_NATIVE does. OpenBLAS already picks its
# kernels at run time; our loops otherwise stay at the x86-64 baseline (SSE2).
# -march=native is expanded here into the explicit flags GCC would use (-march=NAME plus
# every -mFEATURE / -mno-FEATURE), so the command line names the instruction set: ccache
# then never hands an AVX-512 object to a machine without it.
function(covergan_native_flags out)
  set(${out} "" PARENT_SCOPE)
  if(NOT CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
    return()
  endif()
  execute_process(COMMAND ${CMAKE_CXX_COMPILER} -march=native "-###" -E -x c++ /dev/null
                  ERROR_VARIABLE probe OUTPUT_QUIET RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    return()
  endif()
  string(REGEX MATCH "cc1plus[^\n]*" line "${probe}")
  string(REPLACE "\"" "" line "${line}")
  string(REGEX MATCHALL " -m[a-z0-9_.=-]+" flags "${line}")
  list(TRANSFORM flags STRIP)
  set(${out} "${flags}" PARENT_SCOPE)
endfunction()
