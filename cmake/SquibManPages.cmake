# SPDX-License-Identifier: MIT
# The API documentation, generated from the doc comments of the installed
# headers so that it cannot drift from them (docs/MANPAGES.md):
#
#   - man pages, section 3: one per name of lib/libsquibcore.map plus the
#     overview libsquibcore(3), written by scripts/gen-man.pl into
#     ${PROJECT_BINARY_DIR}/man/man3 at build time and installed to
#     ${CMAKE_INSTALL_MANDIR}/man3 (component development). The generator
#     fails the build when a SQUIB_API function has no doc comment or the
#     map and the headers disagree. Option SQUIB_BUILD_MANPAGES, on when
#     perl is found.
#   - the HTML reference (target docs-html, not part of ALL):
#     cmake/SquibApiReference.cmake, included at the end.
#
# Included after SquibPackaging, whose SQUIB_PUBLIC_HEADERS it documents.

find_package(Perl QUIET)
option(SQUIB_BUILD_MANPAGES "Generate and install the section 3 man pages (needs perl)"
	${PERL_FOUND})

if(SQUIB_BUILD_MANPAGES AND NOT PERL_FOUND)
	message(FATAL_ERROR "SQUIB_BUILD_MANPAGES is ON but perl was not found "
		"(install perl, or configure with -DSQUIB_BUILD_MANPAGES=OFF)")
endif()

# The installed headers: the sources and the version.h that lib/ configures.
set(SQUIB_DOC_HEADERS "")
foreach(header IN LISTS SQUIB_PUBLIC_HEADERS)
	list(APPEND SQUIB_DOC_HEADERS "${PROJECT_SOURCE_DIR}/${header}")
endforeach()
list(APPEND SQUIB_DOC_HEADERS "${PROJECT_BINARY_DIR}/include/squib/version.h")

if(SQUIB_BUILD_MANPAGES)
	set(SQUIB_MAN_MAP "${PROJECT_SOURCE_DIR}/lib/libsquibcore.map")
	set(SQUIB_MAN_GENERATOR "${PROJECT_SOURCE_DIR}/scripts/gen-man.pl")
	set(SQUIB_MAN_DIR "${PROJECT_BINARY_DIR}/man/man3")
	# The pages the generator writes, one per name of the map: read here,
	# and the map is a configure dependency, so a new name re-configures.
	file(READ "${SQUIB_MAN_MAP}" squib_man_map_text)
	string(REGEX REPLACE "/\\*([^*]|\\*+[^*/])*\\*+/" "" squib_man_map_text
		"${squib_man_map_text}")
	string(REPLACE ";" "<semi>" squib_man_map_text "${squib_man_map_text}")
	string(REGEX MATCHALL "squib_[A-Za-z0-9_]+[\t ]*<semi>" squib_man_names
		"${squib_man_map_text}")
	set(SQUIB_MAN_PAGES "${SQUIB_MAN_DIR}/libsquibcore.3")
	foreach(name IN LISTS squib_man_names)
		string(REGEX REPLACE "[\t ]*<semi>$" "" name "${name}")
		list(APPEND SQUIB_MAN_PAGES "${SQUIB_MAN_DIR}/${name}.3")
	endforeach()
	list(REMOVE_DUPLICATES SQUIB_MAN_PAGES)
	set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS "${SQUIB_MAN_MAP}")

	# The date of .TH: today, or SOURCE_DATE_EPOCH's day for a
	# reproducible build (string(TIMESTAMP) honours it).
	string(TIMESTAMP SQUIB_MAN_DATE "%Y-%m-%d" UTC)
	add_custom_command(OUTPUT ${SQUIB_MAN_PAGES}
		COMMAND "${PERL_EXECUTABLE}" "${SQUIB_MAN_GENERATOR}"
			--map "${SQUIB_MAN_MAP}" --outdir "${SQUIB_MAN_DIR}"
			--version "${PROJECT_VERSION}" --date "${SQUIB_MAN_DATE}"
			--description "${PROJECT_DESCRIPTION}"
			${SQUIB_DOC_HEADERS}
		DEPENDS "${SQUIB_MAN_GENERATOR}" "${SQUIB_MAN_MAP}" ${SQUIB_DOC_HEADERS}
		COMMENT "Generating the man3 pages from the header doc comments"
		VERBATIM)
	# Part of ALL, so an undocumented export fails a build; not a
	# dependency of the library itself, whose build (scripts/abi-dump.sh,
	# the ABI self-test's deliberately broken variants) must not need the
	# documentation. A build of chosen targets names squib-manpages too
	# before it installs (stage 40).
	add_custom_target(squib-manpages ALL DEPENDS ${SQUIB_MAN_PAGES})
	install(FILES ${SQUIB_MAN_PAGES}
		DESTINATION "${CMAKE_INSTALL_MANDIR}/man3" COMPONENT development)
else()
	if(PERL_FOUND)
		message(STATUS "Man pages (man3): off (SQUIB_BUILD_MANPAGES=OFF)")
	else()
		message(STATUS "Man pages (man3): off (perl not found; SQUIB_BUILD_MANPAGES=OFF)")
	endif()
endif()

include(SquibApiReference)
