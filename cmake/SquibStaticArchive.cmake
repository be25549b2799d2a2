# SPDX-License-Identifier: MIT
# squib_static_archive(TARGET OBJECTS): adds TARGET, a STATIC library of the
# objects of the OBJECT library OBJECTS in which only the default-visibility
# (SQUIB_API) symbols are global.
#
# Why: hidden visibility only hides a symbol from a shared object's dynamic
# table. In an archive of the plain objects every internal function that
# one object calls in another (table_free, squib_fail, squib_host_alloc, ...)
# stays a global symbol, so a program that defines its own table_free fails
# to link statically ("multiple definition"), or worse, interposes it.
#
# How, on ELF: the objects are linked into one relocatable object (ld -r),
# which resolves every reference between them, then objcopy
# --localize-hidden makes each hidden symbol local. The archive holds that
# one object, whose only global definitions are the exported functions
# (tests/abi/archive-audit.sh checks it against lib/libsquibcore.map). The
# thread-local variables keep their TLS model: the references to them stay
# relocations against the same, now local, symbols. A static link now
# takes the whole library as soon as it uses any of it; its objects all
# need each other anyway.
#
# $<TARGET_OBJECTS:OBJECTS> is expanded at generate time, so a source added
# to OBJECTS is merged without a change here.
#
# Elsewhere (Mach-O, or no objcopy or linker found) TARGET is the plain
# archive, with a message saying so: its internal symbols stay global.
# (ld64's own `ld -r` turns hidden symbols private by default and could
# serve on macOS; it is not tried here.)

function(squib_static_archive target objects)
	if(NOT CMAKE_EXECUTABLE_FORMAT STREQUAL "ELF" OR NOT CMAKE_OBJCOPY OR NOT CMAKE_LINKER)
		message(STATUS "${target}: plain archive of the objects (format "
			"'${CMAKE_EXECUTABLE_FORMAT}', objcopy '${CMAKE_OBJCOPY}', linker "
			"'${CMAKE_LINKER}'): its internal symbols stay global, and a program "
			"defining one of their names cannot link it statically")
		add_library(${target} STATIC $<TARGET_OBJECTS:${objects}>)
		return()
	endif()

	set(merged "${CMAKE_CURRENT_BINARY_DIR}/${target}.o")
	# The list of objects as a file, rewritten only when it changes: the
	# Makefile generators do not rerun a command because its arguments
	# changed, so without it a source removed from OBJECTS would stay in.
	set(list "${CMAKE_CURRENT_BINARY_DIR}/${target}.objects")
	file(GENERATE OUTPUT "${list}" CONTENT "$<JOIN:$<TARGET_OBJECTS:${objects}>,\n>\n")
	add_custom_command(OUTPUT "${merged}"
		COMMAND "${CMAKE_LINKER}" -r -o "${merged}.tmp" "$<TARGET_OBJECTS:${objects}>"
		COMMAND "${CMAKE_OBJCOPY}" --localize-hidden "${merged}.tmp" "${merged}"
		COMMAND "${CMAKE_COMMAND}" -E rm -f "${merged}.tmp"
		DEPENDS ${objects} "$<TARGET_OBJECTS:${objects}>" "${list}"
		COMMENT "Merging the objects of ${objects}, internal symbols made local"
		COMMAND_EXPAND_LISTS VERBATIM)
	add_library(${target} STATIC "${merged}")
	# An archive of one prebuilt object has no sources to infer it from.
	set_target_properties(${target} PROPERTIES LINKER_LANGUAGE C)
endfunction()
