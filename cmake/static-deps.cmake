# cmake/static-deps.cmake — link json-c and libyaml statically into the programs that ask for it.
#
# A cold `crabbox-attest verify` is a short process: the dynamic loader opening, mapping and
# relocating libjson-c.so and libyaml-0.so cost about 0.2 ms of its ~1.4 ms CPU (issue 16,
# docs/benchmarks.md). Debian ships both as position-independent archives (libjson-c-dev,
# libyaml-dev), so a program with the target property CRABBOX_STATIC_DEPS set to ON links
# libjson-c.a and libyaml.a instead, keeping only the members it calls. Every other target (the
# shared verifier library, the driver plugins, the tests) links the shared libraries as before.
# CRABBOX_STATIC_DEPS=OFF, or a system without the archives, keeps the shared libraries everywhere.
option(CRABBOX_STATIC_DEPS "Link json-c and libyaml statically into crabbox-attest" ON)

# crabbox_prefer_static(TARGET PREFIX ARCHIVE): TARGET is the IMPORTED target pkg_check_modules
# made for PREFIX (PkgConfig::JSONC, JSONC); ARCHIVE the archive's file name (libjson-c.a). The
# target's link libraries become a choice made per consuming program: the archive for programs
# with CRABBOX_STATIC_DEPS=ON, the shared libraries for everything else.
function(crabbox_prefer_static target prefix archive)
  if(NOT CRABBOX_STATIC_DEPS OR NOT TARGET ${target})
    return()
  endif()
  get_target_property(_done ${target} CRABBOX_STATIC_CHOICE)
  if(_done)
    return()
  endif()
  find_file(CRABBOX_${prefix}_ARCHIVE ${archive}
            HINTS ${${prefix}_STATIC_LIBRARY_DIRS} ${${prefix}_LIBRARY_DIRS} ${${prefix}_LIBDIR}
            NO_DEFAULT_PATH)
  if(NOT CRABBOX_${prefix}_ARCHIVE)
    message(STATUS "${archive} not found: ${target} stays shared in every program")
    return()
  endif()
  get_target_property(_shared ${target} INTERFACE_LINK_LIBRARIES)
  set(_static_on "$<BOOL:$<TARGET_PROPERTY:CRABBOX_STATIC_DEPS>>")
  set(_libs "$<${_static_on}:${CRABBOX_${prefix}_ARCHIVE}>")
  foreach(_lib IN LISTS _shared)
    list(APPEND _libs "$<$<NOT:${_static_on}>:${_lib}>")
  endforeach()
  set_target_properties(${target} PROPERTIES INTERFACE_LINK_LIBRARIES "${_libs}"
                                             CRABBOX_STATIC_CHOICE ON)
endfunction()
