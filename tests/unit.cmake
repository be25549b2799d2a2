# SPDX-License-Identifier: MIT
# The Check unit suites of libsquibcore, one per concern; tests/check_<x>.c
# tests lib/<x>.c (check_seed.c holds the seed's own nine tests).
foreach(concern seed addr range prot mem access error threads fork backing flags discard translate ring pin_stress
		listener dirty fd_io snapshot save_helper)
	if(EXISTS "${CMAKE_CURRENT_SOURCE_DIR}/check_${concern}.c")
		squib_add_check_suite(check_${concern} SOURCES check_${concern}.c)
	endif()
endforeach()
