# What `cmake --install` puts under the prefix (GNUInstallDirs): the umpire CLI, libumpire.so
# with its soname links, umpire.h, umpire.pc for pkg-config and the CMake package umpire
# (find_package(umpire) -> umpire::umpire). Both descriptions locate the prefix from where they
# lie, so an installed tree can be moved (tests/install stages one and builds against it).
include(CMakePackageConfigHelpers)

install(TARGETS umpire RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(TARGETS umpire_shared EXPORT umpire-targets
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
  INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(FILES ${PROJECT_SOURCE_DIR}/include/umpire.h DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})

# pkg-config: prefix relative to the .pc file (${pcfiledir}) unless the directories are absolute
if(IS_ABSOLUTE "${CMAKE_INSTALL_LIBDIR}" OR IS_ABSOLUTE "${CMAKE_INSTALL_INCLUDEDIR}")
  set(UMPIRE_PC_PREFIX "${CMAKE_INSTALL_PREFIX}")
  set(UMPIRE_PC_LIBDIR "${CMAKE_INSTALL_FULL_LIBDIR}")
  set(UMPIRE_PC_INCLUDEDIR "${CMAKE_INSTALL_FULL_INCLUDEDIR}")
else()
  file(RELATIVE_PATH up /prefix/${CMAKE_INSTALL_LIBDIR}/pkgconfig /prefix)
  string(REGEX REPLACE "/$" "" up "${up}")
  set(UMPIRE_PC_PREFIX "\${pcfiledir}/${up}")
  set(UMPIRE_PC_LIBDIR "\${prefix}/${CMAKE_INSTALL_LIBDIR}")
  set(UMPIRE_PC_INCLUDEDIR "\${prefix}/${CMAKE_INSTALL_INCLUDEDIR}")
endif()
configure_file(${PROJECT_SOURCE_DIR}/cmake/umpire.pc.in ${PROJECT_BINARY_DIR}/umpire.pc @ONLY)
install(FILES ${PROJECT_BINARY_DIR}/umpire.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)

# CMake: umpire::umpire, the shared library; any 0.N.x satisfies a request for 0.N (the ABI
# changes with the minor version while the major is 0, as the soname says)
set(UMPIRE_CMAKE_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/umpire)
install(EXPORT umpire-targets NAMESPACE umpire:: DESTINATION ${UMPIRE_CMAKE_DIR})
configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/umpire-config.cmake.in
  ${PROJECT_BINARY_DIR}/umpire-config.cmake INSTALL_DESTINATION ${UMPIRE_CMAKE_DIR})
write_basic_package_version_file(${PROJECT_BINARY_DIR}/umpire-config-version.cmake
  COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/umpire-config.cmake ${PROJECT_BINARY_DIR}/umpire-config-version.cmake
  DESTINATION ${UMPIRE_CMAKE_DIR})
