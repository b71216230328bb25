# Finds rlae's Debian-packaged dependencies and gathers them in the interface target rlae_deps.
# Each missing one stops the configure with the package that provides it; tools/install-deps.sh
# installs them all.
find_package(PkgConfig)
if(NOT PKG_CONFIG_FOUND)
  message(FATAL_ERROR "rlae: pkg-config not found. Run tools/install-deps.sh (Debian package: pkg-config).")
endif()

add_library(rlae_deps INTERFACE)

function(rlae_require_pkg module debian_package what)
  pkg_check_modules(RLAE_PC_${module} QUIET IMPORTED_TARGET ${module})
  if(NOT RLAE_PC_${module}_FOUND)
    message(FATAL_ERROR "rlae: ${what} (pkg-config module '${module}') not found. "
                        "Install the Debian package ${debian_package}, or run tools/install-deps.sh.")
  endif()
  target_link_libraries(rlae_deps INTERFACE PkgConfig::RLAE_PC_${module})
endfunction()

rlae_require_pkg(yaml-0.1 libyaml-dev "libyaml (configs)")
rlae_require_pkg(jansson libjansson-dev "jansson (JSON)")
rlae_require_pkg(libpcre2-8 libpcre2-dev "PCRE2 (tokenizer regexes)")
rlae_require_pkg(libutf8proc libutf8proc-dev "utf8proc (Unicode normalisation)")
rlae_require_pkg(openblas libopenblas-dev "OpenBLAS (CPU matrix products)")

set(HDF5_PREFER_PARALLEL OFF)
find_package(HDF5 COMPONENTS C QUIET)
if(NOT HDF5_FOUND)
  message(FATAL_ERROR "rlae: HDF5 (C library) not found. Install the Debian package libhdf5-dev, "
                      "or run tools/install-deps.sh.")
endif()
target_include_directories(rlae_deps INTERFACE ${HDF5_C_INCLUDE_DIRS})
target_link_libraries(rlae_deps INTERFACE ${HDF5_C_LIBRARIES})
target_compile_definitions(rlae_deps INTERFACE ${HDF5_C_DEFINITIONS})

find_package(OpenMP COMPONENTS C QUIET)
if(NOT OpenMP_C_FOUND)
  message(FATAL_ERROR "rlae: OpenMP for C not found. With gcc it is built in; with clang install "
                      "libomp-dev, or run tools/install-deps.sh.")
endif()
target_link_libraries(rlae_deps INTERFACE OpenMP::OpenMP_C)

find_package(MPI COMPONENTS C QUIET)
if(NOT MPI_C_FOUND)
  message(FATAL_ERROR "rlae: MPI not found. Install the Debian packages libopenmpi-dev and openmpi-bin, "
                      "or run tools/install-deps.sh.")
endif()
target_link_libraries(rlae_deps INTERFACE MPI::MPI_C)

find_package(BZip2 QUIET)
if(NOT BZIP2_FOUND)
  message(FATAL_ERROR "rlae: libbz2 not found. Install the Debian package libbz2-dev, or run tools/install-deps.sh.")
endif()
target_link_libraries(rlae_deps INTERFACE BZip2::BZip2)

find_library(RLAE_LIBM m)
if(RLAE_LIBM)
  target_link_libraries(rlae_deps INTERFACE ${RLAE_LIBM})
endif()
