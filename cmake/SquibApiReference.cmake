# SPDX-License-Identifier: MIT
# The HTML API reference: doxygen on the installed headers (the
# SQUIB_DOC_HEADERS of cmake/SquibManPages.cmake, which includes this
# file), with docs/Doxyfile.in configured into ${PROJECT_BINARY_DIR}/docs.
#
#   cmake --build BUILD --target docs-html     -> BUILD/docs/html/index.html
#
# Not part of ALL, and not installed. Any doxygen warning, such as a public
# declaration without a doc comment, fails the target (WARN_AS_ERROR =
# FAIL_ON_WARNINGS), and a failed run leaves no stamp, so the next build
# runs doxygen again.

find_package(Doxygen QUIET)
if(DOXYGEN_FOUND)
	set(SQUIB_DOXYGEN_OUTPUT "${PROJECT_BINARY_DIR}/docs")
	set(SQUIB_DOXYGEN_INPUT "")
	foreach(header IN LISTS SQUIB_DOC_HEADERS)
		string(APPEND SQUIB_DOXYGEN_INPUT " \"${header}\"")
	endforeach()
	configure_file("${PROJECT_SOURCE_DIR}/docs/Doxyfile.in"
		"${SQUIB_DOXYGEN_OUTPUT}/Doxyfile" @ONLY)
	set(SQUIB_DOXYGEN_STAMP "${SQUIB_DOXYGEN_OUTPUT}/html.stamp")
	add_custom_command(OUTPUT "${SQUIB_DOXYGEN_STAMP}"
		COMMAND "${CMAKE_COMMAND}" -E rm -f "${SQUIB_DOXYGEN_STAMP}"
		COMMAND "${CMAKE_COMMAND}" -E rm -rf "${SQUIB_DOXYGEN_OUTPUT}/html"
		COMMAND "${DOXYGEN_EXECUTABLE}" "${SQUIB_DOXYGEN_OUTPUT}/Doxyfile"
		COMMAND "${CMAKE_COMMAND}" -E touch "${SQUIB_DOXYGEN_STAMP}"
		DEPENDS "${PROJECT_SOURCE_DIR}/docs/Doxyfile.in" "${SQUIB_DOXYGEN_OUTPUT}/Doxyfile"
			${SQUIB_DOC_HEADERS}
		WORKING_DIRECTORY "${SQUIB_DOXYGEN_OUTPUT}"
		COMMENT "Building the HTML API reference with doxygen ${DOXYGEN_VERSION}"
		VERBATIM)
	add_custom_target(docs-html DEPENDS "${SQUIB_DOXYGEN_STAMP}")
else()
	message(STATUS "HTML API reference (docs-html): doxygen not found, the target only says so")
	add_custom_target(docs-html
		COMMAND "${CMAKE_COMMAND}" -E echo "docs-html: doxygen was not found at configure time"
		COMMAND "${CMAKE_COMMAND}" -E false
		VERBATIM)
endif()
