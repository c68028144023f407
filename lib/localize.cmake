# SPDX-License-Identifier: Apache-2.0 OR MIT
# Rewrites the static library as one relocatable object whose hidden
# symbols (the library's internals and protoc-c's generated code) are made
# local, so that a program linking it statically sees only dropipc_*, as
# with the shared library, and may compile the .proto for itself.
#   cmake -DLD=... -DOBJCOPY=... -DAR=... -DARCHIVE=libdropipc.a -DOBJECTS="a.o|b.o" -P localize.cmake
get_filename_component(dir "${ARCHIVE}" DIRECTORY)
set(merged "${dir}/dropipc-merged.o")
string(REPLACE "|" ";" objects "${OBJECTS}")
execute_process(COMMAND "${LD}" -r -o "${merged}" ${objects} RESULT_VARIABLE r)
if(r)
  message(FATAL_ERROR "ld -r failed")
endif()
execute_process(COMMAND "${OBJCOPY}" --localize-hidden "${merged}" RESULT_VARIABLE r)
if(r)
  message(FATAL_ERROR "objcopy --localize-hidden failed")
endif()
file(REMOVE "${ARCHIVE}")
execute_process(COMMAND "${AR}" rcs "${ARCHIVE}" "${merged}" RESULT_VARIABLE r)
if(r)
  message(FATAL_ERROR "ar failed")
endif()
file(REMOVE "${merged}")
