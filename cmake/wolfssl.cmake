# cmake/wolfssl.cmake — which wolfSSL the project links (docs/wolfssl.md).
#
# CRABBOX_WOLFSSL=bundled (default): the wolfSSL tuned for this project, built once from Debian's
#   source package by scripts/build-wolfssl (SP P-256 assembly, Intel assembly, AES-NI, TLS 1.2/1.3
#   ECDHE-AEAD, static + PIC) and cached in ~/.cache/crabbox-attest; configuring the first time
#   builds it (about a minute on 2 CPUs). CRABBOX_WOLFSSL_SUITE=trixie (default)|bookworm picks the source.
# CRABBOX_WOLFSSL=system: Debian's libwolfssl (pkg-config wolfssl), as before.
#
# Either way the target is PkgConfig::WOLFSSL (the name every CMakeLists.txt already links), and the
# features the code uses only when present are detected here by linking a probe against the chosen
# library; they reach the compiler as CBA_HAVE_* definitions of that target:
#   CBA_HAVE_WC_ECC_FP_FREE          wc_ecc_fp_free (FP_ECC: Debian's generic build)
#   CBA_HAVE_WC_ECC_POINT_IS_ON_CURVE wc_ecc_point_is_on_curve (USE_ECC_B_PARAM)
#   CBA_HAVE_WC_SHA3_SETFLAGS        wc_Sha3_SetFlags (WOLFSSL_HASH_FLAGS: Keccak-256 through wolfSSL)
#   CBA_HAVE_WC_ECC_SET_DETERMINISTIC wc_ecc_set_deterministic (mkevidence's reproducible test keys)
#   CBA_HAVE_SP_ECC_IS_POINT_256     sp_ecc_is_point_256 (a static SP build: the cheap on-curve check)
#   CBA_HAVE_SP_ECC_VERIFY_256       sp_ecc_verify_256 (a static SP build: ECDSA verification called
#                                    directly, without ecc_key or DER; verifier/src/crypto.c)
#   CBA_HAVE_SP_P256_ASM             the SP P-256 x86-64 assembly field operations and the SP functions
#                                    verifier/src/ecdsa_table.c uses (the comb tables of fixed keys;
#                                    docs/wolfssl.md, "Fixed-key tables"): every symbol linked here
# CRABBOX_WOLFSSL_DESCRIPTION (a cache-internal string) is what --version prints about the build.
set(CRABBOX_WOLFSSL "bundled" CACHE STRING "wolfSSL to link: bundled (built from Debian's source, tuned) or system")
set_property(CACHE CRABBOX_WOLFSSL PROPERTY STRINGS bundled system)
set(CRABBOX_WOLFSSL_SUITE "trixie" CACHE STRING "Debian suite of the bundled wolfSSL's source: bookworm or trixie")
set_property(CACHE CRABBOX_WOLFSSL_SUITE PROPERTY STRINGS bookworm trixie)
find_package(Threads REQUIRED)

if(CRABBOX_WOLFSSL STREQUAL "system")
  pkg_check_modules(WOLFSSL REQUIRED IMPORTED_TARGET wolfssl)
  set(_cba_wolfssl_desc "system, shared: pkg-config wolfssl ${WOLFSSL_VERSION}")
elseif(CRABBOX_WOLFSSL STREQUAL "bundled")
  # Built (or found in the cache) at configure time, so `cmake -S . -B build` alone sets it up.
  message(STATUS "wolfSSL: bundled (${CRABBOX_WOLFSSL_SUITE}); scripts/build-wolfssl builds it once (about a minute)")
  execute_process(COMMAND ${CMAKE_CURRENT_LIST_DIR}/../scripts/build-wolfssl --print-prefix
                          --suite ${CRABBOX_WOLFSSL_SUITE}
                  OUTPUT_VARIABLE _cba_wolfssl_prefix OUTPUT_STRIP_TRAILING_WHITESPACE
                  RESULT_VARIABLE _cba_wolfssl_rc)
  if(NOT _cba_wolfssl_rc EQUAL 0 OR NOT EXISTS "${_cba_wolfssl_prefix}/lib/libwolfssl.a")
    message(FATAL_ERROR "scripts/build-wolfssl failed (see above). Install its tools with "
                        "scripts/install-deps, or configure with -DCRABBOX_WOLFSSL=system to use "
                        "Debian's libwolfssl-dev.")
  endif()
  set(CRABBOX_WOLFSSL_PREFIX "${_cba_wolfssl_prefix}" CACHE INTERNAL "bundled wolfSSL install prefix")
  # The installed libcrabbox-verifier.a (cmake/CrabboxInstall.cmake) is compiled against this
  # wolfSSL's options.h: it carries the wolfSSL objects it uses, with only cba_* global, so that a
  # static consumer can never pair it with the system's differently configured library.
  set(CRABBOX_WOLFSSL_EMBED_ARCHIVE "${_cba_wolfssl_prefix}/lib/libwolfssl.a")
  add_library(PkgConfig::WOLFSSL STATIC IMPORTED GLOBAL)
  set_target_properties(PkgConfig::WOLFSSL PROPERTIES
                        IMPORTED_LOCATION "${_cba_wolfssl_prefix}/lib/libwolfssl.a"
                        INTERFACE_LINK_LIBRARIES "Threads::Threads;m")
  # SYSTEM: its headers are not ours to keep warning-free.
  target_include_directories(PkgConfig::WOLFSSL SYSTEM INTERFACE "${_cba_wolfssl_prefix}/include")
  # A static wolfSSL must never be exported from a shared object: the verifier's .so would hand its
  # copy to the application, and a plugin's copy would interpose on the host's. The lease-driver
  # plugins also keep only crabbox_driver_entry (their version script); tests/wolfssl_symbols checks
  # every ELF file of the build.
  target_link_options(PkgConfig::WOLFSSL INTERFACE "LINKER:--exclude-libs,libwolfssl.a")
  # wolfSSL is built with a section per function: the shipped programs keep only what they call
  # (a smaller binary maps fewer pages: the cold process's peak RSS). Only these: Criterion
  # registers tests in sections nothing references, which --gc-sections would drop.
  function(_cba_wolfssl_gc_sections)
    foreach(t crabbox-attest crabbox crabbox-phala-proxy bench_verify)
      if(TARGET ${t})
        set_property(TARGET ${t} APPEND PROPERTY LINK_OPTIONS "LINKER:--gc-sections")
      endif()
    endforeach()
  endfunction()
  cmake_language(DEFER DIRECTORY ${CMAKE_SOURCE_DIR} CALL _cba_wolfssl_gc_sections)
  file(STRINGS "${_cba_wolfssl_prefix}/.crabbox-built" _cba_wolfssl_built LIMIT_COUNT 1)
  string(REGEX REPLACE ", built in .*" "" _cba_wolfssl_built "${_cba_wolfssl_built}")
  set(_cba_wolfssl_desc "bundled, static: ${_cba_wolfssl_built}")
else()
  message(FATAL_ERROR "CRABBOX_WOLFSSL must be bundled or system, not '${CRABBOX_WOLFSSL}'")
endif()

# ---- feature probes: link a call against the chosen library ------------------------------------
include(CheckSymbolExists)
include(CMakePushCheckState)
cmake_push_check_state(RESET)
get_target_property(_cba_inc PkgConfig::WOLFSSL INTERFACE_INCLUDE_DIRECTORIES)
if(_cba_inc)
  set(CMAKE_REQUIRED_INCLUDES ${_cba_inc})
endif()
set(CMAKE_REQUIRED_LIBRARIES PkgConfig::WOLFSSL)
set(CMAKE_REQUIRED_QUIET ON)
set(_cba_wolfssl_defs "")
set(_cba_wolfssl_features "")
# check_symbol_exists compiles a use of the function's address and links it: a declaration that
# is missing (the option is off in options.h) or a definition that is missing both fail.
# sp_ecc_is_point_256 and sp_ecc_verify_256 (the SP P-256 code) link only from a static wolfSSL built
# with SP ECC (the shared library hides it: WOLFSSL_LOCAL), and its header wolfssl/wolfcrypt/sp.h
# is not in every installation (Debian's libwolfssl-dev has none): probed with its own header list.
set(_cba_probe_headers "wolfssl/options.h;wolfssl/wolfcrypt/ecc.h;wolfssl/wolfcrypt/sha3.h")
foreach(_fn wc_ecc_fp_free wc_ecc_point_is_on_curve wc_Sha3_SetFlags wc_ecc_set_deterministic
            sp_ecc_is_point_256 sp_ecc_verify_256)
  string(TOUPPER "${_fn}" _name)
  unset(CBA_HAVE_${_name} CACHE)
  set(_headers "${_cba_probe_headers}")
  if(_fn MATCHES "^sp_ecc_")
    list(APPEND _headers "wolfssl/wolfcrypt/sp.h")
  endif()
  check_symbol_exists(${_fn} "${_headers}" CBA_HAVE_${_name})
  if(CBA_HAVE_${_name})
    list(APPEND _cba_wolfssl_defs CBA_HAVE_${_name}=1)
    string(APPEND _cba_wolfssl_features " ${_fn}")
  endif()
endforeach()
# The comb tables (verifier/src/ecdsa_table.c) call wolfSSL internals that no header declares:
# the global symbols of sp_x86_64_asm.S (prototypes as in sp_x86_64.c, repeated here and there).
# The probe compiles against the same options.h and links the address of every one of them, so a
# wolfSSL without them (Debian's shared build hides them; another CPU has none) builds no tables.
# Linking cannot see a changed prototype or range convention: unit.ecdsa_table_diff and the
# generator's known-answer check are what would catch that.
unset(CBA_HAVE_SP_P256_ASM CACHE)
if(CMAKE_SYSTEM_PROCESSOR MATCHES "^(x86_64|AMD64|amd64)$" AND CBA_HAVE_SP_ECC_VERIFY_256
   AND CBA_HAVE_SP_ECC_IS_POINT_256)
  include(CheckCSourceCompiles)
  check_c_source_compiles([=[
#include <stdint.h>
#include <wolfssl/options.h>
#include <wolfssl/wolfcrypt/cpuid.h>
#include <wolfssl/wolfcrypt/ecc.h>
#include <wolfssl/wolfcrypt/sp.h>
#if !defined(__x86_64__) || !defined(WOLFSSL_SP_X86_64_ASM) || !defined(WOLFSSL_HAVE_SP_ECC)
#error "no SP P-256 x86-64 assembly"
#endif
extern void sp_256_mont_mul_avx2_4(sp_digit*, const sp_digit*, const sp_digit*, const sp_digit*, sp_digit);
extern void sp_256_mont_sqr_avx2_4(sp_digit*, const sp_digit*, const sp_digit*, sp_digit);
extern void sp_256_mont_add_4(sp_digit*, const sp_digit*, const sp_digit*, const sp_digit*);
extern void sp_256_mont_dbl_4(sp_digit*, const sp_digit*, const sp_digit*);
extern void sp_256_mont_tpl_4(sp_digit*, const sp_digit*, const sp_digit*);
extern void sp_256_mont_sub_4(sp_digit*, const sp_digit*, const sp_digit*, const sp_digit*);
extern void sp_256_mont_mul_order_avx2_4(sp_digit*, const sp_digit*, const sp_digit*);
extern void sp_256_mod_inv_avx2_4(sp_digit*, const sp_digit*, const sp_digit*);
extern void sp_256_mont_mul_4(sp_digit*, const sp_digit*, const sp_digit*, const sp_digit*, sp_digit);
extern void sp_256_mont_sqr_4(sp_digit*, const sp_digit*, const sp_digit*, sp_digit);
extern void sp_256_mul_4(sp_digit*, const sp_digit*, const sp_digit*);
extern void sp_256_mont_reduce_order_4(sp_digit*, const sp_digit*, sp_digit);
extern void sp_256_mod_inv_4(sp_digit*, const sp_digit*, const sp_digit*);
extern sp_int64 sp_256_cmp_4(const sp_digit*, const sp_digit*);
extern sp_digit sp_256_sub_4(sp_digit*, const sp_digit*, const sp_digit*);
extern sp_digit sp_256_add_4(sp_digit*, const sp_digit*, const sp_digit*);
int main(void)
{
    uintptr_t s = 0;
    s ^= (uintptr_t)&sp_256_mont_mul_avx2_4; s ^= (uintptr_t)&sp_256_mont_sqr_avx2_4;
    s ^= (uintptr_t)&sp_256_mont_add_4; s ^= (uintptr_t)&sp_256_mont_dbl_4;
    s ^= (uintptr_t)&sp_256_mont_tpl_4; s ^= (uintptr_t)&sp_256_mont_sub_4;
    s ^= (uintptr_t)&sp_256_mont_mul_order_avx2_4; s ^= (uintptr_t)&sp_256_mod_inv_avx2_4;
    s ^= (uintptr_t)&sp_256_mont_mul_4; s ^= (uintptr_t)&sp_256_mont_sqr_4;
    s ^= (uintptr_t)&sp_256_mul_4; s ^= (uintptr_t)&sp_256_mont_reduce_order_4;
    s ^= (uintptr_t)&sp_256_mod_inv_4; s ^= (uintptr_t)&sp_256_cmp_4;
    s ^= (uintptr_t)&sp_256_sub_4; s ^= (uintptr_t)&sp_256_add_4;
    s ^= (uintptr_t)&cpuid_get_flags; s ^= (uintptr_t)&sp_ecc_mulmod_base_add_256;
    s ^= (uintptr_t)&sp_ecc_mulmod_256; s ^= (uintptr_t)&sp_ecc_is_point_256;
    return (int)(s & 1);
}
]=] CBA_HAVE_SP_P256_ASM)
  if(CBA_HAVE_SP_P256_ASM)
    list(APPEND _cba_wolfssl_defs CBA_HAVE_SP_P256_ASM=1)
    string(APPEND _cba_wolfssl_features " sp_256_*_4(x86-64 asm: ECDSA tables)")
  endif()
endif()
cmake_pop_check_state()
message(STATUS "wolfSSL: ${_cba_wolfssl_desc}; optional functions:${_cba_wolfssl_features}")
set_property(TARGET PkgConfig::WOLFSSL APPEND PROPERTY INTERFACE_COMPILE_DEFINITIONS
             ${_cba_wolfssl_defs} "CBA_WOLFSSL_BUILD=\"${_cba_wolfssl_desc}\"")
set(CRABBOX_WOLFSSL_DESCRIPTION "${_cba_wolfssl_desc}" CACHE INTERNAL "what --version says about wolfSSL")

# ---- the one-copy check ------------------------------------------------------------------------
if(BUILD_TESTING)
  add_test(NAME build.wolfssl_symbols
           COMMAND ${CMAKE_CURRENT_LIST_DIR}/../tests/wolfssl_symbols ${CMAKE_BINARY_DIR}
                   $<$<STREQUAL:${CRABBOX_WOLFSSL},bundled>:${CRABBOX_WOLFSSL_PREFIX}/lib/libwolfssl.a>)
endif()
