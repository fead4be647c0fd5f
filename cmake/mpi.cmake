# The MPI addon vsgd_mpi.node (docs/distributed.md): a second, small addon that initializes MPI
# and reduces typed arrays, so that vsgd.node never links libmpi and loads where Open MPI is not
# installed. Included from the addon section of CMakeLists.txt (it needs cmake-js's Node headers).
#   VSGD_MPI=AUTO  build it when an MPI implementation is found (Debian: libopenmpi-dev)
#   VSGD_MPI=ON    the same, but no MPI is a configuration error
#   VSGD_MPI=OFF   never: backends().mpi then says "built without MPI"

string(TOUPPER "${VSGD_MPI}" _vsgd_mpi)
if(NOT _vsgd_mpi MATCHES "^(AUTO|ON|OFF)$")
  message(FATAL_ERROR "VSGD_MPI must be AUTO, ON or OFF, not '${VSGD_MPI}'")
endif()

if(NOT _vsgd_mpi STREQUAL "OFF")
  enable_language(C)  # FindMPI probes the C API with the C compiler
  find_package(MPI COMPONENTS C QUIET)
  if(MPI_C_FOUND)
    add_library(vsgd_mpi SHARED native/mpi/mpi.cpp ${CMAKE_JS_SRC})
    set_target_properties(vsgd_mpi PROPERTIES PREFIX "" SUFFIX ".node")
    target_include_directories(vsgd_mpi PRIVATE ${CMAKE_JS_INC} ${NODE_ADDON_API_DIR})
    # the C API only: mpi.h would otherwise pull in the C++ bindings (libmpi_cxx) when compiled as C++
    target_compile_definitions(vsgd_mpi PRIVATE NAPI_VERSION=8 NAPI_CPP_EXCEPTIONS NODE_API_SWALLOW_UNTHROWABLE_EXCEPTIONS
                               OMPI_SKIP_MPICXX MPICH_SKIP_MPICXX)
    target_link_libraries(vsgd_mpi PRIVATE MPI::MPI_C ${CMAKE_DL_LIBS} ${CMAKE_JS_LIB})
    message(STATUS "vsgd: MPI addon ON (MPI ${MPI_C_VERSION}: ${MPI_C_LIBRARIES})")
  elseif(_vsgd_mpi STREQUAL "ON")
    message(FATAL_ERROR "VSGD_MPI=ON but no MPI was found (Debian: apt-get install libopenmpi-dev openmpi-bin)")
  else()
    message(STATUS "vsgd: no MPI found; building without the MPI addon")
  endif()
else()
  message(STATUS "vsgd: MPI addon OFF")
endif()
