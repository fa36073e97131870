# ggml's CPU backend, compiled once per x86-64 instruction-set level and chosen at run time.
#
# ggml compiles its CPU kernels for the instruction set it is told (-mavx2 ...), and code built
# for AVX2 dies with SIGILL on a CPU without it. ggml's own answer, GGML_CPU_ALL_VARIANTS, builds
# each variant as a module that it dlopens at run time (GGML_BACKEND_DL): that needs ggml as
# shared libraries installed next to the program, while libumpire.so folds llama.cpp in,
# statically and hidden, and the umpire binary is self-contained. So umpire makes the same
# choice inside one binary:
#  1. each variant is ggml's own CPU backend target, ggml-cpu (its sources, definitions,
#     options, standards and dependencies, copied), compiled with the variant's flags;
#  2. its objects are linked into one relocatable object (ld -r) in which every symbol but the
#     functions of ggml-cpu.h is made local, and those are renamed with the variant's prefix:
#     two variants sit in one program, and neither's inline functions, templates or tables can
#     stand in for the other's (C++ "unique" symbols are made weak so that they can be local);
#  3. a generated dispatcher defines each of those functions as a GNU indirect function: the
#     dynamic loader runs its resolver once, before main, and it picks the most capable variant
#     that the CPU (cpuid) and the OS (the AVX register state) support (__builtin_cpu_supports).
# The result, the static library umpire_ggml_cpu, takes ggml-cpu's place in ggml's link
# interface: llama.cpp and umpire call the CPU backend as before. One caveat: every variant's
# static constructors would run at start-up on any CPU (ggml-cpu has none today: no .init_array).
# Tested by tests/cpu (qemu emulating CPUs without AVX2, and without SSE4.2: it would catch such
# a constructor, and any AVX2 code reached without the dispatch).
#
# Usage: include() it, then umpire_cpu_variants(umpire_ggml_cpu) after add_subdirectory(llama.cpp),
# the in-tree ggml-cpu configured for the baseline (no GGML_AVX..., GGML_NATIVE OFF).
# In script mode (cmake -P, at build time) it writes the dispatcher, see the end of the file.

# The variants, least capable first; the last one whose features the CPU has is used.
#   x86_64     the x86-64 baseline (SSE2): any 64-bit x86 CPU
#   x86_64_v3  Haswell (2013) and later, Zen: ggml's "haswell" variant, the flags umpire's
#              build had before (SSE4.2, AVX, AVX2, FMA, F16C, BMI2)
set(UMPIRE_CPU_VARIANTS x86_64 x86_64_v3)
set(UMPIRE_CPU_x86_64_FLAGS)
set(UMPIRE_CPU_x86_64_DEFINES)
set(UMPIRE_CPU_x86_64_FEATURES)
set(UMPIRE_CPU_x86_64_v3_FLAGS -msse4.2 -mavx -mavx2 -mfma -mf16c -mbmi2)
set(UMPIRE_CPU_x86_64_v3_DEFINES GGML_SSE42 GGML_AVX GGML_AVX2 GGML_FMA GGML_F16C GGML_BMI2)
set(UMPIRE_CPU_x86_64_v3_FEATURES sse4.2 avx avx2 fma f16c bmi2)

# ------------------------------------------------------------------ configure: the targets
function(umpire_cpu_variants target)
  if(NOT TARGET ggml-cpu OR NOT TARGET ggml)
    message(FATAL_ERROR "cpu_variants: this llama.cpp has no ggml-cpu target to build per instruction set; "
                        "configure with -DUMPIRE_CPU_DISPATCH=OFF")
  endif()
  set(work ${PROJECT_BINARY_DIR}/cpu-variants)
  file(MAKE_DIRECTORY ${work})

  # the candidates for dispatch: every GGML_BACKEND_API function of ggml-cpu.h (the dispatcher
  # takes those the variants define)
  get_target_property(ggml_src ggml SOURCE_DIR)
  file(STRINGS ${ggml_src}/../include/ggml-cpu.h api_lines REGEX "GGML_BACKEND_API")
  set(api)
  foreach(line ${api_lines})
    if(line MATCHES "([A-Za-z_][A-Za-z0-9_]*)[ \t]*\\(")
      list(APPEND api ${CMAKE_MATCH_1})
    endif()
  endforeach()
  list(REMOVE_DUPLICATES api)
  string(REPLACE ";" "\n" api_text "${api}")
  file(CONFIGURE OUTPUT ${work}/api.txt CONTENT "${api_text}\n" @ONLY)

  # the in-tree ggml-cpu, whose build each variant copies
  get_target_property(cpu_dir ggml-cpu SOURCE_DIR)
  get_target_property(cpu_sources ggml-cpu SOURCES)
  set(sources)
  foreach(s ${cpu_sources})
    if(s MATCHES "\\.(c|cc|cpp)$")
      if(NOT IS_ABSOLUTE ${s})
        set(s ${cpu_dir}/${s})
      endif()
      list(APPEND sources ${s})
    endif()
  endforeach()
  get_target_property(cpu_libs ggml-cpu LINK_LIBRARIES)
  # its imported dependencies (OpenMP::OpenMP_C, Threads::Threads) are visible in ggml's
  # directory only: find them here too
  foreach(lib ${cpu_libs})
    if(lib MATCHES "^([A-Za-z0-9_]+)::" AND NOT TARGET ${lib})
      find_package(${CMAKE_MATCH_1} REQUIRED)
    endif()
  endforeach()
  # the definitions of its directory (add_compile_definitions in ggml/src: _GNU_SOURCE, ...)
  get_property(dir_defines DIRECTORY ${cpu_dir} PROPERTY COMPILE_DEFINITIONS)

  set(objects)
  foreach(v ${UMPIRE_CPU_VARIANTS})
    set(objs umpire_ggml_cpu_${v})
    add_library(${objs} OBJECT ${sources})
    foreach(p INCLUDE_DIRECTORIES COMPILE_DEFINITIONS COMPILE_OPTIONS COMPILE_FEATURES
              C_STANDARD C_STANDARD_REQUIRED C_EXTENSIONS CXX_STANDARD CXX_STANDARD_REQUIRED
              CXX_EXTENSIONS C_VISIBILITY_PRESET CXX_VISIBILITY_PRESET VISIBILITY_INLINES_HIDDEN)
      get_target_property(value ggml-cpu ${p})
      if(value STREQUAL "value-NOTFOUND")
        set_property(TARGET ${objs} PROPERTY ${p})
      else()
        set_property(TARGET ${objs} PROPERTY ${p} "${value}")
      endif()
    endforeach()
    target_compile_definitions(${objs} PRIVATE ${dir_defines} ${UMPIRE_CPU_${v}_DEFINES})
    target_compile_options(${objs} PRIVATE ${UMPIRE_CPU_${v}_FLAGS}
                           $<$<COMPILE_LANG_AND_ID:CXX,GNU>:-fno-gnu-unique>)
    target_link_libraries(${objs} PRIVATE ${cpu_libs})
    set_target_properties(${objs} PROPERTIES POSITION_INDEPENDENT_CODE ON)

    # one relocatable object, ggml-cpu.h's functions renamed, everything else local
    set(pairs)
    foreach(name ${api})
      string(APPEND pairs "${name} umpire_cpu_${v}_${name}\n")
    endforeach()
    file(CONFIGURE OUTPUT ${work}/rename-${v}.txt CONTENT "${pairs}" @ONLY)
    set(obj ${work}/ggml-cpu-${v}.o)
    add_custom_command(OUTPUT ${obj}
      COMMAND ${CMAKE_LINKER} -r --force-group-allocation -o ${obj}.all "$<TARGET_OBJECTS:${objs}>"
      COMMAND ${CMAKE_OBJCOPY} --keep-global-symbols=${work}/api.txt ${obj}.all ${obj}.local
      COMMAND ${CMAKE_OBJCOPY} --redefine-syms=${work}/rename-${v}.txt ${obj}.local ${obj}
      COMMAND ${CMAKE_COMMAND} -E rm -f ${obj}.all ${obj}.local
      DEPENDS ${objs} "$<TARGET_OBJECTS:${objs}>" ${work}/api.txt ${work}/rename-${v}.txt
      COMMENT "ggml's CPU backend for ${v} in one object, ggml-cpu.h's functions as umpire_cpu_${v}_*"
      COMMAND_EXPAND_LISTS VERBATIM)
    list(APPEND objects ${obj})
  endforeach()

  add_custom_command(OUTPUT ${work}/dispatch.c
    COMMAND ${CMAKE_COMMAND} -DNM=${CMAKE_NM} -DWORK=${work} -P ${CMAKE_CURRENT_FUNCTION_LIST_FILE}
    DEPENDS ${objects} ${work}/api.txt ${CMAKE_CURRENT_FUNCTION_LIST_FILE}
    COMMENT "The dispatcher of ggml's CPU backend variants" VERBATIM)

  add_library(${target} STATIC ${work}/dispatch.c ${objects})
  set_source_files_properties(${objects} PROPERTIES EXTERNAL_OBJECT TRUE GENERATED TRUE)
  set_target_properties(${target} PROPERTIES LINKER_LANGUAGE CXX POSITION_INDEPENDENT_CODE ON)
  # link-only, as ggml-cpu's are: OpenMP's -fopenmp must not reach llama.cpp's or umpire's code
  target_link_libraries(${target} PRIVATE ${cpu_libs})

  # ggml (the backend registry) links the dispatched backend in place of the in-tree ggml-cpu,
  # which is then never built
  foreach(p LINK_LIBRARIES INTERFACE_LINK_LIBRARIES)
    get_target_property(libs ggml ${p})
    list(TRANSFORM libs REPLACE "^ggml-cpu$" ${target})
    set_property(TARGET ggml PROPERTY ${p} "${libs}")
  endforeach()
endfunction()

# ------------------------------------------------------------------ build: the dispatcher
# cmake -DNM=nm -DWORK=dir -P cpu_variants.cmake: WORK/dispatch.c from the variants' objects.
# It dispatches the functions of ggml-cpu.h that every variant defines (the header declares
# some that no backend defines), and fails if the variants disagree.
if(CMAKE_SCRIPT_MODE_FILE STREQUAL CMAKE_CURRENT_LIST_FILE)
  cmake_policy(VERSION 3.20)
  file(STRINGS ${WORK}/api.txt api)
  set(defined)
  foreach(v ${UMPIRE_CPU_VARIANTS})
    execute_process(COMMAND ${NM} -g --defined-only ${WORK}/ggml-cpu-${v}.o
                    OUTPUT_VARIABLE out RESULT_VARIABLE rc)
    if(NOT rc EQUAL 0)
      message(FATAL_ERROR "${NM} ${WORK}/ggml-cpu-${v}.o failed")
    endif()
    string(REGEX MATCHALL "[^\n]+" lines "${out}")
    set(names)
    foreach(line ${lines})
      if(line MATCHES " umpire_cpu_${v}_([A-Za-z0-9_]+)$" AND CMAKE_MATCH_1 IN_LIST api)
        list(APPEND names ${CMAKE_MATCH_1})
      elseif(line MATCHES " [A-Za-z] ([^ ]+)$")
        message(FATAL_ERROR "ggml-cpu-${v}.o defines ${CMAKE_MATCH_1}: every symbol but ggml-cpu.h's "
                            "functions should be local")
      endif()
    endforeach()
    list(SORT names)
    if(defined AND NOT names STREQUAL defined)
      message(FATAL_ERROR "the CPU variants define different functions of ggml-cpu.h")
    endif()
    set(defined "${names}")
  endforeach()
  list(LENGTH defined n)
  if(n LESS 10)
    message(FATAL_ERROR "the CPU variants define ${n} functions of ggml-cpu.h")
  endif()

  list(JOIN UMPIRE_CPU_VARIANTS ", " names)
  set(c "/* Generated by cmake/cpu_variants.cmake: the ${n} functions of ggml-cpu.h, each an indirect\n")
  string(APPEND c " * function that the dynamic loader resolves once, before main, to the most capable variant\n")
  string(APPEND c " * of ggml's CPU backend this CPU runs: ${names}. The resolvers run while the loader\n")
  string(APPEND c " * relocates: cpuid only, and no data that needs relocating (no tables of pointers; the\n")
  string(APPEND c " * variants' functions are hidden, their addresses PC-relative). */\n")
  string(APPEND c "typedef void (*umpire_cpu_fn)(void);\n\n")
  string(APPEND c "/* the variant to use, an index into the list above */\n")
  string(APPEND c "static int umpire_cpu_variant(void)\n{\n    __builtin_cpu_init();\n")
  set(index 0)
  set(checks)
  foreach(v ${UMPIRE_CPU_VARIANTS})
    if(UMPIRE_CPU_${v}_FEATURES)
      set(cond)
      foreach(f ${UMPIRE_CPU_${v}_FEATURES})
        list(APPEND cond "__builtin_cpu_supports(\"${f}\")")
      endforeach()
      list(JOIN cond "\n        && " cond)
      string(PREPEND checks "    if (${cond})\n        return ${index};\n")
    endif()
    math(EXPR index "${index} + 1")
  endforeach()
  string(APPEND c "${checks}    return 0;\n}\n")
  list(GET UMPIRE_CPU_VARIANTS 0 first)
  foreach(name ${defined})
    string(APPEND c "\n")
    set(index 0)
    set(cases)
    foreach(v ${UMPIRE_CPU_VARIANTS})
      string(APPEND c "__attribute__((visibility(\"hidden\"))) void umpire_cpu_${v}_${name}(void);\n")
      if(index GREATER 0)
        string(APPEND cases "    case ${index}: return umpire_cpu_${v}_${name};\n")
      endif()
      math(EXPR index "${index} + 1")
    endforeach()
    string(APPEND c "static umpire_cpu_fn resolve_${name}(void)\n{\n    switch (umpire_cpu_variant()) {\n")
    string(APPEND c "${cases}    default: return umpire_cpu_${first}_${name};\n    }\n}\n")
    string(APPEND c "void ${name}(void) __attribute__((ifunc(\"resolve_${name}\")));\n")
  endforeach()
  file(WRITE ${WORK}/dispatch.c "${c}")
endif()
