# mpi_check.cmake — the ctest fronta_bench_mpi: `fronta-bench mpi --quick` runs its MPI jobs and verifies every row.
#
#   cmake -DBENCH=path/to/fronta-bench -DOUT=dir -P mpi_check.cmake
#
# Checks: the group's four rows are in the JSON and verified (each job
# compared its result with a serial evaluation); the stencil's halos are
# one row each way: an interior rank sends 2 messages of one row (256
# floats under --quick) per step, not whole blocks; and a missing mpiexec
# skips the group with one line and exit status 0, reporting no rows.
# Where the group cannot run (fronta-bench-mpi not built, no mpiexec) the
# first run says "mpi: skipped" and this script "fronta_bench_mpi: SKIP",
# which the test's SKIP_REGULAR_EXPRESSION turns into a skip.

cmake_minimum_required(VERSION 3.19)

if(NOT BENCH OR NOT OUT)
  message(FATAL_ERROR "usage: cmake -DBENCH=fronta-bench -DOUT=dir -P mpi_check.cmake")
endif()

set(json_path "${OUT}/mpi-check.json")
file(REMOVE "${json_path}")
execute_process(COMMAND "${BENCH}" mpi --quick --json "${json_path}"
  RESULT_VARIABLE rc OUTPUT_VARIABLE table ERROR_VARIABLE err)
if(err MATCHES "mpi: skipped[^\n]*")
  message("fronta_bench_mpi: SKIP (${CMAKE_MATCH_0})")
  return()
endif()
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "fronta-bench mpi --quick exited ${rc}\n${table}\n${err}")
endif()

file(READ "${json_path}" json)
string(JSON nres LENGTH "${json}" results)
set(seen "")
math(EXPR last "${nres} - 1")
foreach(i RANGE ${last})
  string(JSON case GET "${json}" results ${i} case)
  string(JSON impl GET "${json}" results ${i} impl)
  string(JSON verified GET "${json}" results ${i} verified)
  if(NOT verified STREQUAL "ON")
    message(FATAL_ERROR "mpi/${case} ${impl} not verified\n${table}\n${err}")
  endif()
  if(case STREQUAL "stencil")
    string(JSON msgs GET "${json}" results ${i} msgs_per_rank_step)
    if(NOT msgs EQUAL 2)
      message(FATAL_ERROR "mpi/stencil ${impl}: ${msgs} messages per rank per step, expected 2")
    endif()
  endif()
  list(APPEND seen "${case}/${impl}")
endforeach()
list(SORT seen)
if(NOT seen STREQUAL "overhead/fronta;overhead/mpi_raw;stencil/fronta;stencil/mpi_openmp")
  message(FATAL_ERROR "rows ${seen}, expected the four of the group\n${table}\n${err}")
endif()
# Rank 1 of 4 is interior: 2 sends and 2 receives of 256 floats per step.
if(NOT err MATCHES "per rank per step[^\n]* \\[1\\] 2 2 2048 2048 ")
  message(FATAL_ERROR "mpi/stencil fronta: rank 1 did not move one row each way per step:\n${err}")
endif()

# No mpiexec: one line, no rows, success.
execute_process(COMMAND ${CMAKE_COMMAND} -E env FRONTA_BENCH_MPIEXEC=/nonexistent/mpiexec
                        "${BENCH}" mpi --quick --quiet
  RESULT_VARIABLE rc OUTPUT_VARIABLE table ERROR_VARIABLE err)
if(NOT rc EQUAL 0 OR NOT err MATCHES "^mpi: skipped, FRONTA_BENCH_MPIEXEC=/nonexistent/mpiexec is not an executable\n")
  message(FATAL_ERROR "without mpiexec: exit ${rc}, expected 0 and one line\n${table}\n${err}")
endif()
string(REGEX MATCHALL "mpi: skipped" lines "${err}")
list(LENGTH lines nlines)
if(NOT nlines EQUAL 1 OR table MATCHES "stencil")
  message(FATAL_ERROR "without mpiexec: ${nlines} skip lines (expected 1), or rows:\n${table}\n${err}")
endif()
