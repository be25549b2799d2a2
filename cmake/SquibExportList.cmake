# SPDX-License-Identifier: MIT
# squib_exported_symbols_list(MAP OUT): writes the Mach-O exported symbols
# list (ld64 -exported_symbols_list) for the names of an ELF version script,
# so macOS exports exactly what lib/libsquibcore.map exports on Linux: one
# source for both. Mach-O C symbols carry a leading underscore.
#
# Only squib_-prefixed names in the script's global: sections are taken (the
# contract exports nothing else); the local: wildcard has no Mach-O
# equivalent and needs none, since an exported symbols list hides
# everything it does not name.
#
# Also runs as a script, so tests can compare the list with what the Linux
# library exports:
#   cmake -DMAP=lib/libsquibcore.map -DOUT=exports.txt -P cmake/SquibExportList.cmake

function(squib_exported_symbols_list map out)
	file(READ "${map}" text)
	# Drop /* */ comments so a name mentioned in one is not exported, and
	# spell ';' otherwise: it is CMake's list separator.
	string(REGEX REPLACE "/\\*([^*]|\\*+[^*/])*\\*+/" "" text "${text}")
	string(REPLACE ";" "<semi>" text "${text}")
	string(REGEX MATCHALL "squib_[A-Za-z0-9_]+[\t ]*<semi>" names "${text}")
	set(symbols "")
	foreach(name IN LISTS names)
		string(REGEX REPLACE "[\t ]*<semi>$" "" name "${name}")
		list(APPEND symbols "_${name}")
	endforeach()
	list(REMOVE_DUPLICATES symbols)
	list(LENGTH symbols count)
	if(count EQUAL 0)
		message(FATAL_ERROR "no squib_ symbols found in ${map}")
	endif()
	list(JOIN symbols "\n" content)
	# Written only when it changes, so a re-configure does not relink.
	set(content "${content}\n")
	if(EXISTS "${out}")
		file(READ "${out}" old)
	endif()
	if(NOT old STREQUAL content)
		file(WRITE "${out}" "${content}")
	endif()
endfunction()

if(CMAKE_SCRIPT_MODE_FILE STREQUAL CMAKE_CURRENT_LIST_FILE)
	if(NOT MAP OR NOT OUT)
		message(FATAL_ERROR "usage: cmake -DMAP=file.map -DOUT=file -P ${CMAKE_CURRENT_LIST_FILE}")
	endif()
	squib_exported_symbols_list("${MAP}" "${OUT}")
endif()
