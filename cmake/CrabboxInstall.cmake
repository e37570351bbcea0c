# CrabboxInstall.cmake — how libcrabbox-verifier is installed and embedded (docs/api.md):
#   - the shared library exports only cba_* (hidden visibility + version script, node CBA_<SOVERSION>);
#   - the static archive is one relocatable object whose internal symbols are local, so that only
#     cba_* are global there too (no clash with an embedder's der_* / x509_* / json_*);
#   - a relocatable pkg-config file and a CMake package config (crabbox::verifier);
#   - headers and man pages.
# Included from the top-level CMakeLists.txt after the crabbox_verifier* targets exist.

include(CMakePackageConfigHelpers)

set(CRABBOX_VERIFIER_MAP ${CMAKE_SOURCE_DIR}/verifier/crabbox-verifier.map)
target_link_options(crabbox_verifier PRIVATE -Wl,--version-script=${CRABBOX_VERIFIER_MAP})
set_property(TARGET crabbox_verifier APPEND PROPERTY LINK_DEPENDS ${CRABBOX_VERIFIER_MAP})

# ---- the public static archive ---------------------------------------------------------------
# In-tree users (tests, tools) link crabbox_verifier_static, whose internals stay reachable; the
# installed archive is built from the same objects: ld -r into one object, then every hidden
# (non-CBA_API) symbol made local.
find_program(CRABBOX_LD NAMES ld ld.bfd REQUIRED)
find_program(CRABBOX_OBJCOPY NAMES objcopy REQUIRED)
set(CRABBOX_PUBLIC_DIR ${CMAKE_BINARY_DIR}/public)
set(CRABBOX_PUBLIC_OBJ ${CRABBOX_PUBLIC_DIR}/crabbox-verifier.o)
set(CRABBOX_PUBLIC_AR ${CRABBOX_PUBLIC_DIR}/libcrabbox-verifier.a)
add_custom_command(
  OUTPUT ${CRABBOX_PUBLIC_AR}
  COMMAND ${CMAKE_COMMAND} -E make_directory ${CRABBOX_PUBLIC_DIR}
  COMMAND ${CRABBOX_LD} -r -o ${CRABBOX_PUBLIC_OBJ} $<TARGET_OBJECTS:crabbox_verifier_obj>
          $<TARGET_OBJECTS:crabbox_base_obj>
          ${CRABBOX_WOLFSSL_EMBED_ARCHIVE}
  COMMAND ${CRABBOX_OBJCOPY} --localize-hidden ${CRABBOX_PUBLIC_OBJ}
  # with the bundled wolfSSL linked in (cmake/wolfssl.cmake), its default-visibility API too
  COMMAND ${CRABBOX_OBJCOPY} -w --keep-global-symbol=cba_* ${CRABBOX_PUBLIC_OBJ}
  COMMAND ${CMAKE_COMMAND} -E rm -f ${CRABBOX_PUBLIC_AR}
  COMMAND ${CMAKE_AR} qc ${CRABBOX_PUBLIC_AR} ${CRABBOX_PUBLIC_OBJ}
  COMMAND ${CMAKE_RANLIB} ${CRABBOX_PUBLIC_AR}
  DEPENDS crabbox_verifier_obj $<TARGET_OBJECTS:crabbox_verifier_obj> crabbox_base_obj
          $<TARGET_OBJECTS:crabbox_base_obj>
  COMMENT "Archiving libcrabbox-verifier.a (only cba_* global)"
  COMMAND_EXPAND_LISTS VERBATIM)
add_custom_target(crabbox_verifier_public_static ALL DEPENDS ${CRABBOX_PUBLIC_AR})

# ---- install ---------------------------------------------------------------------------------
install(TARGETS crabbox_verifier LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR})
install(FILES ${CRABBOX_PUBLIC_AR} DESTINATION ${CMAKE_INSTALL_LIBDIR})
install(DIRECTORY ${CMAKE_SOURCE_DIR}/verifier/include/crabbox DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})

# pkg-config: every path relative to the .pc file.
set(CRABBOX_PC_DIR ${CMAKE_INSTALL_LIBDIR}/pkgconfig)
file(RELATIVE_PATH CRABBOX_PC_TO_PREFIX ${CMAKE_INSTALL_PREFIX}/${CRABBOX_PC_DIR} ${CMAKE_INSTALL_PREFIX})
string(REGEX REPLACE "/$" "" CRABBOX_PC_TO_PREFIX "${CRABBOX_PC_TO_PREFIX}")
set(CRABBOX_PC_LIBDIR ${CMAKE_INSTALL_LIBDIR})
set(CRABBOX_PC_INCLUDEDIR ${CMAKE_INSTALL_INCLUDEDIR})
configure_file(${CMAKE_SOURCE_DIR}/verifier/crabbox-verifier.pc.in ${CMAKE_BINARY_DIR}/crabbox-verifier.pc @ONLY)
install(FILES ${CMAKE_BINARY_DIR}/crabbox-verifier.pc DESTINATION ${CRABBOX_PC_DIR})

# CMake package: find_package(crabbox-verifier) -> crabbox::verifier (+ _shared, _static).
set(CRABBOX_CMAKE_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/crabbox-verifier)
file(RELATIVE_PATH CRABBOX_CMAKE_TO_PREFIX ${CMAKE_INSTALL_PREFIX}/${CRABBOX_CMAKE_DIR} ${CMAKE_INSTALL_PREFIX})
get_target_property(CRABBOX_VERIFIER_SOVERSION crabbox_verifier SOVERSION)
configure_file(${CMAKE_SOURCE_DIR}/cmake/crabbox-verifier-config.cmake.in
               ${CMAKE_BINARY_DIR}/crabbox-verifier-config.cmake @ONLY)
write_basic_package_version_file(${CMAKE_BINARY_DIR}/crabbox-verifier-config-version.cmake
                                 VERSION ${PROJECT_VERSION} COMPATIBILITY SameMinorVersion)
install(FILES ${CMAKE_BINARY_DIR}/crabbox-verifier-config.cmake
              ${CMAKE_BINARY_DIR}/crabbox-verifier-config-version.cmake
        DESTINATION ${CRABBOX_CMAKE_DIR})
