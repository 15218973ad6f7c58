include(CMakePackageConfigHelpers)

install(TARGETS xent EXPORT xent-targets
        ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
        LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
        RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(DIRECTORY "${PROJECT_SOURCE_DIR}/include/xent" DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
if(TARGET xent_cli)
  install(TARGETS xent_cli RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
endif()

set(XENT_CMAKE_DIR "${CMAKE_INSTALL_LIBDIR}/cmake/xent")
install(EXPORT xent-targets NAMESPACE xent:: DESTINATION "${XENT_CMAKE_DIR}")
configure_package_config_file("${PROJECT_SOURCE_DIR}/cmake/xent-config.cmake.in"
  "${PROJECT_BINARY_DIR}/xent-config.cmake" INSTALL_DESTINATION "${XENT_CMAKE_DIR}")
write_basic_package_version_file("${PROJECT_BINARY_DIR}/xent-config-version.cmake"
  COMPATIBILITY SameMinorVersion)
install(FILES "${PROJECT_BINARY_DIR}/xent-config.cmake" "${PROJECT_BINARY_DIR}/xent-config-version.cmake"
        DESTINATION "${XENT_CMAKE_DIR}")

configure_file("${PROJECT_SOURCE_DIR}/cmake/xent.pc.in" "${PROJECT_BINARY_DIR}/xent.pc" @ONLY)
install(FILES "${PROJECT_BINARY_DIR}/xent.pc" DESTINATION "${CMAKE_INSTALL_LIBDIR}/pkgconfig")
