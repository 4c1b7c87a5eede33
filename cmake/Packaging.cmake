# Installing jobq as a system service, and its Debian package.
#
# The binaries and manual pages install themselves (cli/, daemon/, man/);
# this adds the shell completions, the systemd units and the example
# configuration file, then the package: from a build directory,
#   cpack -G DEB          ->  jobq_<version>_<arch>.deb
# `cmake --install` installs the same files.
#
# The units and the configuration file go where systemd and jobqd look, which
# is not under the usual prefix: with the prefix /usr (the package, or
# `cmake --install build --prefix /usr`) to /lib/systemd/system and /etc/jobq;
# with another prefix P (the default /usr/local) to P/lib/systemd/system and
# P/etc/jobq (jobqd reads /etc/jobq/jobqd.conf, so that copy is an example
# only). This is decided when installing, not when configuring, so that one
# build tree serves both `cmake --install` and cpack (which installs with the
# prefix /usr). The unit's ExecStart= names jobqd where it is installed.

set(JOBQ_SYSTEMD_UNIT_DIR "" CACHE PATH
    "Where the systemd units are installed (empty: /lib/systemd/system for the prefix /usr, else PREFIX/lib/systemd/system)")
set(JOBQ_CONFIG_DIR "" CACHE PATH
    "Where the example jobqd.conf is installed (empty: /etc/jobq for the prefix /usr, else PREFIX/etc/jobq)")

# Shell completions, those that exist (globbed, so that a new one is picked up).
file(GLOB jobq_completions CONFIGURE_DEPENDS "${PROJECT_SOURCE_DIR}/completions/*")
foreach(spec IN ITEMS "jobq.bash|bash-completion/completions|jobq"
                      "_jobq|zsh/vendor-completions|_jobq"
                      "jobq.fish|fish/vendor_completions.d|jobq.fish")
  string(REPLACE "|" ";" spec "${spec}")
  list(GET spec 0 file)
  list(GET spec 1 dir)
  list(GET spec 2 name)
  if("${PROJECT_SOURCE_DIR}/completions/${file}" IN_LIST jobq_completions)
    install(FILES "${PROJECT_SOURCE_DIR}/completions/${file}"
            DESTINATION "${CMAKE_INSTALL_DATADIR}/${dir}" RENAME "${name}")
  endif()
endforeach()

# The units and the example configuration, placed at install time (see above).
set(jobq_install_system_files [[
set(prefix "${CMAKE_INSTALL_PREFIX}")
string(REGEX REPLACE "/+$" "" prefix "${prefix}")
if(prefix STREQUAL "/usr")
  set(unit_dir "/lib/systemd/system")
  set(config_dir "/etc/jobq")
else()
  set(unit_dir "${prefix}/lib/systemd/system")
  set(config_dir "${prefix}/etc/jobq")
endif()
if(NOT "@JOBQ_SYSTEMD_UNIT_DIR@" STREQUAL "")
  set(unit_dir "@JOBQ_SYSTEMD_UNIT_DIR@")
endif()
if(NOT "@JOBQ_CONFIG_DIR@" STREQUAL "")
  set(config_dir "@JOBQ_CONFIG_DIR@")
endif()
set(sbindir "@CMAKE_INSTALL_SBINDIR@")
if(NOT IS_ABSOLUTE "${sbindir}")
  set(sbindir "${prefix}/${sbindir}")
endif()
file(READ "@PROJECT_SOURCE_DIR@/packaging/jobqd.service" unit)
string(REPLACE "ExecStart=/usr/sbin/jobqd" "ExecStart=${sbindir}/jobqd" unit "${unit}")
file(MAKE_DIRECTORY "@PROJECT_BINARY_DIR@/packaging")
file(WRITE "@PROJECT_BINARY_DIR@/packaging/jobqd.service" "${unit}")
file(INSTALL "@PROJECT_BINARY_DIR@/packaging/jobqd.service" "@PROJECT_SOURCE_DIR@/packaging/jobqd.socket"
     DESTINATION "${unit_dir}" FILE_PERMISSIONS OWNER_READ OWNER_WRITE GROUP_READ WORLD_READ)
# Never over an administrator's own configuration.
if(EXISTS "$ENV{DESTDIR}${config_dir}/jobqd.conf")
  message(STATUS "Keeping: $ENV{DESTDIR}${config_dir}/jobqd.conf (the new example is packaging/jobqd.conf)")
else()
  file(INSTALL "@PROJECT_SOURCE_DIR@/packaging/jobqd.conf"
       DESTINATION "${config_dir}" FILE_PERMISSIONS OWNER_READ OWNER_WRITE GROUP_READ WORLD_READ)
endif()
]])
string(CONFIGURE "${jobq_install_system_files}" jobq_install_system_files @ONLY)
install(CODE "${jobq_install_system_files}")

# The Debian package.
set(JOBQ_DEB_DEPENDS
    "libc6 (>= 2.34), libstdc++6 (>= 12), libgcc-s1, libsqlite3-0 (>= 3.40), libcurl4 (>= 7.88), libspdlog1.10, libfmt9, adduser"
    CACHE STRING "Depends: of the .deb (the run-time libraries, by their Debian 12 names)")
set(JOBQ_DEB_MAINTAINER "jobq maintainers <root@localhost>" CACHE STRING "Maintainer: of the .deb")

set(CPACK_GENERATOR "DEB")
set(CPACK_PACKAGE_NAME "jobq")
set(CPACK_PACKAGE_VERSION "${PROJECT_VERSION}")
set(CPACK_PACKAGE_CONTACT "${JOBQ_DEB_MAINTAINER}")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "local job queue that runs each job as a Docker container")
# The extended description (CPack puts the summary above it and indents it).
set(CPACK_DEBIAN_PACKAGE_DESCRIPTION "jobqd keeps every job in SQLite, runs each one as a detached container
with a concurrency limit per application, and records what Docker says
really happened: the exit code, an OOM kill, the container's own times.
jobq is its command-line tool. Members of the group jobq may use it.")
set(CPACK_DEBIAN_PACKAGE_SECTION "admin")
set(CPACK_DEBIAN_PACKAGE_PRIORITY "optional")
set(CPACK_DEBIAN_PACKAGE_DEPENDS "${JOBQ_DEB_DEPENDS}")
set(CPACK_DEBIAN_PACKAGE_RECOMMENDS "docker.io | docker-ce")
set(CPACK_DEBIAN_FILE_NAME "DEB-DEFAULT")  # jobq_<version>_<arch>.deb
set(CPACK_STRIP_FILES ON)
# Install with the prefix /usr under a staging DESTDIR, so that the
# install-time placement above sees /usr and writes /etc/jobq and
# /lib/systemd/system into the package.
set(CPACK_SET_DESTDIR ON)
set(CPACK_INSTALL_PREFIX "/usr")
set(CPACK_PACKAGING_INSTALL_PREFIX "/usr")

if(JOBQ_CONFIG_DIR STREQUAL "")
  set(jobq_deb_config_dir "/etc/jobq")
else()
  set(jobq_deb_config_dir "${JOBQ_CONFIG_DIR}")
endif()
file(WRITE "${PROJECT_BINARY_DIR}/packaging/deb/conffiles" "${jobq_deb_config_dir}/jobqd.conf\n")
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
    "${PROJECT_BINARY_DIR}/packaging/deb/conffiles"
    "${PROJECT_SOURCE_DIR}/packaging/deb/postinst"
    "${PROJECT_SOURCE_DIR}/packaging/deb/prerm"
    "${PROJECT_SOURCE_DIR}/packaging/deb/postrm")
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)

include(CPack)
