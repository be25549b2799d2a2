# SPDX-License-Identifier: MIT
# Warning, hardening and sanitizer flags for every target of the project,
# collected on one interface target so each target opts in explicitly.

set(CMAKE_C_STANDARD 11)
set(CMAKE_C_STANDARD_REQUIRED ON)
set(CMAKE_C_EXTENSIONS OFF)
set(CMAKE_POSITION_INDEPENDENT_CODE ON)

if(NOT CMAKE_BUILD_TYPE AND NOT CMAKE_CONFIGURATION_TYPES)
	set(CMAKE_BUILD_TYPE RelWithDebInfo CACHE STRING "Build type" FORCE)
endif()

add_library(squib_build_flags INTERFACE)
target_compile_options(squib_build_flags INTERFACE
	-Wall -Wextra -Wpedantic -Wshadow -Wconversion -Wsign-conversion
	-Wstrict-prototypes -Wmissing-prototypes -Wformat=2 -Wvla
	-Wundef -Wcast-align -Wnull-dereference)
if(SQUIB_WERROR)
	target_compile_options(squib_build_flags INTERFACE -Werror)
endif()

if(SQUIB_SANITIZE)
	target_compile_options(squib_build_flags INTERFACE
		-fsanitize=${SQUIB_SANITIZE} -fno-omit-frame-pointer
		-fno-sanitize-recover=all)
	target_link_options(squib_build_flags INTERFACE -fsanitize=${SQUIB_SANITIZE})
elseif(SQUIB_HARDENING)
	# _FORTIFY_SOURCE needs optimisation and fights with the sanitizers'
	# own interceptors, so it is only added to plain optimised builds.
	target_compile_options(squib_build_flags INTERFACE
		$<$<NOT:$<CONFIG:Debug>>:-U_FORTIFY_SOURCE -D_FORTIFY_SOURCE=2>)
endif()

if(SQUIB_HARDENING)
	target_compile_options(squib_build_flags INTERFACE -fstack-protector-strong)
	# Beyond Debian 12's defaults, what Ubuntu, Fedora and Debian 13 build
	# with: stack-clash probing of large frames, and CET landing pads
	# (endbr64) on x86. Both cost next to nothing on the access path.
	include(CheckCCompilerFlag)
	foreach(flag -fstack-clash-protection -fcf-protection=full)
		string(MAKE_C_IDENTIFIER "SQUIB_HAS${flag}" var)
		check_c_compiler_flag(${flag} ${var})
		if(${var})
			target_compile_options(squib_build_flags INTERFACE ${flag})
		endif()
	endforeach()
	if(CMAKE_SYSTEM_NAME STREQUAL "Linux")
		target_link_options(squib_build_flags INTERFACE
			-Wl,-z,relro -Wl,-z,now -Wl,-z,noexecstack)
	endif()
endif()
