# Debian package (CPack DEB): `cpack -G DEB` in the build directory, or scripts/package.sh.
#   /usr/bin/livernode
#   /etc/livernode/livernode.yaml        conffile, generated from config/livernode.example.yaml
#   /lib/systemd/system/livernode.service
#   /usr/share/doc/livernode/            README, guides, the annotated example configuration
# postinst creates the `livernode` system user and /var/lib/livernode (owned by it).

# The production configuration is the annotated example with the paths of an installed node.
# Every replacement must match, so a change to the example cannot silently drop one.
set(_example "${PROJECT_SOURCE_DIR}/config/livernode.example.yaml")
set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS "${_example}")
file(READ "${_example}" _yaml)
function(_livernode_replace from to)
  string(FIND "${_yaml}" "${from}" _at)
  if(_at EQUAL -1)
    message(FATAL_ERROR "packaging: config/livernode.example.yaml no longer contains:\n${from}")
  endif()
  string(REPLACE "${from}" "${to}" _replaced "${_yaml}")
  set(_yaml "${_replaced}" PARENT_SCOPE)
endfunction()
_livernode_replace(
  "# Every value written below IS the built-in default: an empty file (or no file) behaves\n# exactly like this one. Keep only the keys you change.\n"
  "# Installed by the livernode Debian package (a conffile: your changes survive upgrades).\n# Every value below is the built-in default except the storage paths, which point to\n# /var/lib/livernode (the service user's home, the only place the service may write).\n# Logs go to standard error, which systemd passes to the journal: journalctl -u livernode\n# Apply changes: systemctl reload livernode (see the admin guide for what a reload applies).\n")
_livernode_replace("  spool_dir: var/spool\n" "  spool_dir: /var/lib/livernode/spool\n")
_livernode_replace("  state_db: var/state.sqlite\n" "  state_db: /var/lib/livernode/state.sqlite\n")
_livernode_replace("  results_dir: var/results\n" "  results_dir: /var/lib/livernode/results\n")
_livernode_replace("  # Log file; empty = standard error.\n"
                   "  # Log file; empty = standard error (the systemd journal under the service).\n")
set(LIVERNODE_PACKAGE_CONFIG "${PROJECT_BINARY_DIR}/packaging/livernode.yaml")
file(CONFIGURE OUTPUT "${LIVERNODE_PACKAGE_CONFIG}" CONTENT "${_yaml}" @ONLY)

install(FILES "${LIVERNODE_PACKAGE_CONFIG}" DESTINATION /etc/livernode
        PERMISSIONS OWNER_READ OWNER_WRITE GROUP_READ)
install(FILES "${CMAKE_CURRENT_LIST_DIR}/livernode.service" DESTINATION /lib/systemd/system)
install(FILES "${PROJECT_SOURCE_DIR}/README.md" "${_example}"
        DESTINATION share/doc/livernode)
install(DIRECTORY "${PROJECT_SOURCE_DIR}/docs/" DESTINATION share/doc/livernode
        FILES_MATCHING PATTERN "*.md")

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME livernode)
set(CPACK_PACKAGE_VERSION "${PROJECT_VERSION}")
set(CPACK_PACKAGE_VENDOR "livernode project")
set(CPACK_PACKAGE_CONTACT "livernode maintainers <livernode@localhost>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "DICOM processing node for liver oncology CT")
set(CPACK_PACKAGE_DESCRIPTION
  "Receives abdominal CT studies by DICOM C-STORE, recognises the contrast phases, segments\nthe liver and lesions, computes volumetry and a surgical plan, and sends DICOM SEG,\nTID 1500 SR, secondary-capture summaries and an encapsulated PDF back to the PACS.")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_STRIP_FILES ON)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION science)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_DEPENDS "adduser")
# The database server of storage.state_backend postgresql (libpq5, the client, is a dependency
# dpkg-shlibdeps finds); often on another machine.
set(CPACK_DEBIAN_PACKAGE_SUGGESTS "postgresql")
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
  "${CMAKE_CURRENT_LIST_DIR}/debian/conffiles;${CMAKE_CURRENT_LIST_DIR}/debian/postinst;${CMAKE_CURRENT_LIST_DIR}/debian/prerm;${CMAKE_CURRENT_LIST_DIR}/debian/postrm")
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
include(CPack)
