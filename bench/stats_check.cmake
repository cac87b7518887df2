# stats_check.cmake — the ctest fronta_bench_stats: checks fronta-bench --stats, in the table and in the JSON.
#
#   cmake -DBENCH=path/to/fronta-bench -DOUT=dir -P stats_check.cmake
#
# Runs overhead/chain (rows on the shared runtime and on runtimes of their
# own) and placement (where the host has an OpenCL device) with --stats
# and --json, then checks: the stats section follows the table; every
# fronta row of the JSON has a "stats" member whose workers ran tasks and
# whose "runs" counts the warm-up and the timed runs; rows that run no
# fronta task (starpu) have none. A run without --stats has no "stats"
# at all: the JSON only grows when asked.

cmake_minimum_required(VERSION 3.19)

if(NOT BENCH OR NOT OUT)
  message(FATAL_ERROR "usage: cmake -DBENCH=fronta-bench -DOUT=dir -P stats_check.cmake")
endif()

set(json_path "${OUT}/stats-check.json")
set(plain_path "${OUT}/stats-check-plain.json")
file(REMOVE "${json_path}" "${plain_path}")
execute_process(
  COMMAND "${BENCH}" overhead/chain placement --quick --repeat 2 --quiet --stats
          --json "${json_path}"
  RESULT_VARIABLE rc OUTPUT_VARIABLE table ERROR_VARIABLE err)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "fronta-bench --stats exited ${rc}\n${table}\n${err}")
endif()
if(NOT table MATCHES "\nworker statistics \\(--stats\\)[^\n]*\noverhead/chain fronta \\(cpu\\), 3 runs:\n")
  message(FATAL_ERROR "no stats section for overhead/chain fronta after the table:\n${table}")
endif()
if(NOT table MATCHES "\n  pool thread 0 +[1-9][0-9]* ")
  message(FATAL_ERROR "no pool thread that ran tasks in the stats section:\n${table}")
endif()

file(READ "${json_path}" json)
string(JSON nres LENGTH "${json}" results)
set(checked 0)
math(EXPR last "${nres} - 1")
foreach(i RANGE ${last})
  string(JSON impl GET "${json}" results ${i} impl)
  string(JSON bench GET "${json}" results ${i} bench)
  string(JSON repeat GET "${json}" results ${i} repeat)
  string(JSON stats ERROR_VARIABLE none GET "${json}" results ${i} stats)
  if(impl STREQUAL "starpu")
    if(NOT none)
      message(FATAL_ERROR "${bench} ${impl} runs no fronta task but has stats: ${stats}")
    endif()
    continue()
  endif()
  if(none)
    message(FATAL_ERROR "${bench} ${impl}: no \"stats\" in the JSON (${none})")
  endif()
  string(JSON runs GET "${stats}" runs)
  math(EXPR want "${repeat} + 1")
  if(NOT runs EQUAL want)
    message(FATAL_ERROR "${bench} ${impl}: stats over ${runs} runs, expected ${want}")
  endif()
  string(JSON nw LENGTH "${stats}" workers)
  set(tasks 0)
  math(EXPR lw "${nw} - 1")
  foreach(w RANGE ${lw})
    string(JSON t GET "${stats}" workers ${w} tasks_run)
    string(JSON b GET "${stats}" workers ${w} busy_ns)
    math(EXPR tasks "${tasks} + ${t}")
  endforeach()
  if(tasks EQUAL 0)
    message(FATAL_ERROR "${bench} ${impl}: stats count no task run: ${stats}")
  endif()
  math(EXPR checked "${checked} + 1")
endforeach()
if(checked LESS 4)
  message(FATAL_ERROR "only ${checked} rows with stats in ${json_path}")
endif()

execute_process(
  COMMAND "${BENCH}" overhead/chain --quick --repeat 1 --quiet --json "${plain_path}"
  RESULT_VARIABLE rc OUTPUT_VARIABLE table ERROR_VARIABLE err)
file(READ "${plain_path}" plain)
if(NOT rc EQUAL 0 OR plain MATCHES "\"stats\"" OR table MATCHES "worker statistics")
  message(FATAL_ERROR "without --stats (exit ${rc}) there must be no stats:\n${table}\n${plain}")
endif()
message(STATUS "fronta-bench --stats: ${checked} rows with per-worker stats")
