# Runs the real `xent` binary (through the cross emulator when there is one) and checks its exit
# code and output, which a plain add_test cannot do together.
#   -DCOMMAND=a|b|c   the command, '|'-separated
#   -DEXPECT_RC=N     the exit code
#   -DEXPECT_STDOUT_FILE=F   stdout must equal this file's content
#   -DSTDOUT_REGEX=R / -DSTDERR_REGEX=R
# A failing run (EXPECT_RC != 0) must print nothing on stdout and exactly one line on stderr.
string(REPLACE "|" ";" _cmd "${COMMAND}")
execute_process(COMMAND ${_cmd} RESULT_VARIABLE _rc OUTPUT_VARIABLE _out ERROR_VARIABLE _err)
set(_show "command: ${_cmd}\nexit: ${_rc}\nstdout: ${_out}\nstderr: ${_err}")
if(NOT "${_rc}" STREQUAL "${EXPECT_RC}")
  message(FATAL_ERROR "expected exit code ${EXPECT_RC}\n${_show}")
endif()
if(DEFINED EXPECT_STDOUT_FILE)
  file(READ "${EXPECT_STDOUT_FILE}" _want)
  if(NOT _out STREQUAL _want)
    message(FATAL_ERROR "stdout differs from ${EXPECT_STDOUT_FILE} (${_want})\n${_show}")
  endif()
endif()
if(DEFINED STDOUT_REGEX AND NOT _out MATCHES "${STDOUT_REGEX}")
  message(FATAL_ERROR "stdout does not match '${STDOUT_REGEX}'\n${_show}")
endif()
if(DEFINED STDERR_REGEX AND NOT _err MATCHES "${STDERR_REGEX}")
  message(FATAL_ERROR "stderr does not match '${STDERR_REGEX}'\n${_show}")
endif()
if(NOT EXPECT_RC EQUAL 0)
  if(NOT _out STREQUAL "")
    message(FATAL_ERROR "a failing run printed on stdout\n${_show}")
  endif()
  string(REGEX MATCHALL "\n" _newlines "${_err}")
  list(LENGTH _newlines _lines)
  if(NOT _lines EQUAL 1)
    message(FATAL_ERROR "a failing run must print exactly one line on stderr, not ${_lines}\n${_show}")
  endif()
endif()
