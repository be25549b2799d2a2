# SPDX-License-Identifier: MIT
# Installation: library, headers and the pkg-config file.

set(SQUIB_PUBLIC_HEADERS
	include/squib/access.h
	include/squib/addr.h
	include/squib/core.h
	include/squib/error.h
	include/squib/export.h
	include/squib/mem.h
	include/squib/prot.h
	include/squib/range.h)

set(SQUIB_INSTALL_TARGETS squibcore)
if(SQUIB_BUILD_STATIC)
	list(APPEND SQUIB_INSTALL_TARGETS squibcore_static)
endif()
install(TARGETS ${SQUIB_INSTALL_TARGETS}
	EXPORT squib-core-targets
	LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR} COMPONENT runtime
		NAMELINK_COMPONENT development
	ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR} COMPONENT development
	RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR} COMPONENT runtime)
install(FILES ${SQUIB_PUBLIC_HEADERS} "${PROJECT_BINARY_DIR}/include/squib/version.h"
	DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/squib COMPONENT development)

# squib-core.pc is written at install time, not configure time, so that
# `cmake --install build --prefix DIR` gets a file naming DIR. Its paths are
# relative to ${prefix}.
string(REPLACE ";" " " SQUIB_PC_LIBS_PRIVATE "${CMAKE_THREAD_LIBS_INIT}")
install(CODE "
	set(PROJECT_VERSION \"${PROJECT_VERSION}\")
	set(PROJECT_DESCRIPTION \"${PROJECT_DESCRIPTION}\")
	set(SQUIB_PC_LIBS_PRIVATE \"${SQUIB_PC_LIBS_PRIVATE}\")
	set(SQUIB_PC_PREFIX \"\${CMAKE_INSTALL_PREFIX}\")
	foreach(dir LIBDIR INCLUDEDIR)
		set(value \"\${CMAKE_INSTALL_\${dir}}\")
		if(NOT value)
			set(value \"${CMAKE_INSTALL_LIBDIR}\")
			if(dir STREQUAL INCLUDEDIR)
				set(value \"${CMAKE_INSTALL_INCLUDEDIR}\")
			endif()
		endif()
		if(IS_ABSOLUTE \"\${value}\")
			set(SQUIB_PC_\${dir} \"\${value}\")
		else()
			set(SQUIB_PC_\${dir} \"\\\${prefix}/\${value}\")
		endif()
	endforeach()
	configure_file(\"${PROJECT_SOURCE_DIR}/squib-core.pc.in\"
		\"${PROJECT_BINARY_DIR}/squib-core.pc.install\" @ONLY)
	file(INSTALL \"${PROJECT_BINARY_DIR}/squib-core.pc.install\"
		DESTINATION \"\${CMAKE_INSTALL_PREFIX}/${CMAKE_INSTALL_LIBDIR}/pkgconfig\"
		RENAME squib-core.pc)
" COMPONENT development)
