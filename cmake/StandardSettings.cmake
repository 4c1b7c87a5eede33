# Per-target settings as INTERFACE libraries: link jobq_warnings / jobq_sanitizers
# into a target instead of touching global flags.
add_library(jobq_warnings INTERFACE)
target_compile_options(jobq_warnings INTERFACE
  -Wall -Wextra -Wshadow -Wconversion -Wsign-conversion -Wnon-virtual-dtor
  -Wold-style-cast -Woverloaded-virtual -Wnull-dereference -Wimplicit-fallthrough)
if(JOBQ_WARNINGS_AS_ERRORS)
  target_compile_options(jobq_warnings INTERFACE -Werror)
  # GCC 12 at -O2 reports "potential null pointer dereference" inside
  # libstdc++, nlohmann_json and CLI11 as inlined into our code, and whether
  # it does depends on how a file is split: false positives that come and go
  # with unrelated edits. It stays a warning with GCC (and an error with clang).
  if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
    target_compile_options(jobq_warnings INTERFACE -Wno-error=null-dereference)
  endif()
endif()

add_library(jobq_sanitizers INTERFACE)
if(JOBQ_FUZZ)
  # Everything instrumented for coverage; the fuzz targets link libFuzzer.
  target_compile_options(jobq_sanitizers INTERFACE
    -fsanitize=fuzzer-no-link,address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all)
  target_link_options(jobq_sanitizers INTERFACE -fsanitize=address,undefined)
elseif(JOBQ_SANITIZE)
  target_compile_options(jobq_sanitizers INTERFACE
    -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all)
  target_link_options(jobq_sanitizers INTERFACE -fsanitize=address,undefined)
endif()
