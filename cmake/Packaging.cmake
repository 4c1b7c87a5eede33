# Installing jobq as a system service.
#
# The binaries and manual pages install themselves (cli/, daemon/, man/);
# this adds the shell completions, the systemd units and the example
# configuration file. The Debian package (packaging/debian/, built by
# packaging/build-deb.sh with dpkg-buildpackage) installs with these rules
# too, with the prefix /usr.
#
# The units and the configuration file go where systemd and jobqd look, which
# is not under the usual prefix: with the prefix /usr (the package, or
# `cmake --install build --prefix /usr`) to /lib/systemd/system and /etc/jobq;
# with another prefix P (the default /usr/local) to P/lib/systemd/system and
# P/etc/jobq (jobqd reads /etc/jobq/jobqd.conf, so that copy is an example
# only). This is decided when installing, not when configuring, so that one
# build tree serves `cmake --install` under any prefix. The unit's ExecStart=
# names jobqd where it is installed.

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
