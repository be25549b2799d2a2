# SPDX-License-Identifier: MIT
# Installation: library, headers, the pkg-config file and the CMake package.
# tests/consumers/ proves every one of them against an installed tree
# (scripts/check.d/40-consumers.sh).

include(CMakePackageConfigHelpers)
# lib/ found Threads in its own directory scope; the pkg-config file needs
# CMAKE_THREAD_LIBS_INIT here (empty where libc holds pthreads, glibc >= 2.34).
find_package(Threads REQUIRED)

set(SQUIB_PUBLIC_HEADERS
	include/squib/access.h
	include/squib/addr.h
	include/squib/backing.h
	include/squib/core.h
	include/squib/dirty.h
	include/squib/error.h
	include/squib/export.h
	include/squib/io.h
	include/squib/listener.h
	include/squib/mem.h
	include/squib/prot.h
	include/squib/range.h
	include/squib/ring.h
	include/squib/snapshot.h
	include/squib/translate.h)

# Exported as squib::core and squib::core_static, the names of the in-tree
# aliases, so a project builds the same whether it vendors or finds us.
set(SQUIB_INSTALL_TARGETS squibcore)
set_target_properties(squibcore PROPERTIES EXPORT_NAME core)
if(SQUIB_BUILD_STATIC)
	list(APPEND SQUIB_INSTALL_TARGETS squibcore_static)
	set_target_properties(squibcore_static PROPERTIES EXPORT_NAME core_static)
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

# The CMake package: find_package(squib-core 0.2 CONFIG) imports the targets
# above. SameMajorVersion: releases that keep SONAME 0 only add (new symbols
# in new version nodes, docs/ABI.md), so 0.3 serves a program that asked for
# 0.2; a break moves the SONAME and the major version together.
set(SQUIB_CMAKE_DIR "${CMAKE_INSTALL_LIBDIR}/cmake/squib-core")
install(EXPORT squib-core-targets
	NAMESPACE squib::
	FILE squib-core-targets.cmake
	DESTINATION "${SQUIB_CMAKE_DIR}"
	COMPONENT development)
configure_package_config_file(
	"${PROJECT_SOURCE_DIR}/cmake/squib-coreConfig.cmake.in"
	"${PROJECT_BINARY_DIR}/squib-coreConfig.cmake"
	INSTALL_DESTINATION "${SQUIB_CMAKE_DIR}")
write_basic_package_version_file(
	"${PROJECT_BINARY_DIR}/squib-coreConfigVersion.cmake"
	VERSION "${PROJECT_VERSION}"
	COMPATIBILITY SameMajorVersion)
install(FILES
	"${PROJECT_BINARY_DIR}/squib-coreConfig.cmake"
	"${PROJECT_BINARY_DIR}/squib-coreConfigVersion.cmake"
	DESTINATION "${SQUIB_CMAKE_DIR}"
	COMPONENT development)
