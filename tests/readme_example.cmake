# readme_example.cmake — the README's example is docs/examples/quickstart.c,
# which check-install.sh builds and runs against the installed package: this
# check keeps the two the same text, so the README shows a program that is
# known to build, run and give the right answer.
#   cmake -DREADME=README.md -DEXAMPLE=docs/examples/quickstart.c -P readme_example.cmake
file(READ ${README} readme)
file(READ ${EXAMPLE} example)
set(marker "<!-- docs/examples/quickstart.c -->\n```c\n")
string(FIND "${readme}" "${marker}" at)
if(at LESS 0)
  message(FATAL_ERROR "README: no '<!-- docs/examples/quickstart.c -->' code block")
endif()
string(LENGTH "${marker}" mlen)
math(EXPR at "${at} + ${mlen}")
string(SUBSTRING "${readme}" ${at} -1 rest)
string(FIND "${rest}" "```" end)
string(SUBSTRING "${rest}" 0 ${end} block)
if(NOT block STREQUAL example)
  file(WRITE ${CMAKE_CURRENT_BINARY_DIR}/readme_block.c "${block}")
  message(FATAL_ERROR "README's example differs from ${EXAMPLE} "
    "(the README's block is in ${CMAKE_CURRENT_BINARY_DIR}/readme_block.c: diff them)")
endif()
