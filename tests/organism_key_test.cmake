# organism_key_test.cmake - the organism cache key follows the trainer's sources: the same
# files give the same key, a changed, added or removed source or another llama.cpp tag another
# one; and the key the build compiled into `organism` is that of the sources as they are.
# cmake -DROOT=SRC -DWORK=DIR -DTAG=TAG -DBUILT=organism_key.h -P organism_key_test.cmake
include(${ROOT}/cmake/organism_key.cmake)
file(REMOVE_RECURSE ${WORK})
foreach(d tools/organism tools/common src/core src/grad)
  file(MAKE_DIRECTORY ${WORK}/${d})
endforeach()
file(GLOB organism_files ${ROOT}/tools/organism/*)
file(COPY ${organism_files} DESTINATION ${WORK}/tools/organism)
file(GLOB common_files ${ROOT}/tools/common/*)
file(COPY ${common_files} DESTINATION ${WORK}/tools/common)
file(COPY ${ROOT}/src/core/rng.h DESTINATION ${WORK}/src/core)
file(COPY ${ROOT}/src/grad/model.c ${ROOT}/src/grad/model.h DESTINATION ${WORK}/src/grad)

# expect(WHAT CONDITION...): the condition as if() reads it
function(expect what)
  if(${ARGN})
    message(STATUS "ok   ${what}")
  else()
    message(FATAL_ERROR "FAIL ${what}")
  endif()
endfunction()

organism_source_key(${ROOT} "${TAG}" real)
organism_source_key(${WORK} "${TAG}" copy)
expect("a copy of the sources has the same key (paths are relative)" copy STREQUAL real)
file(READ ${BUILT} built)
string(FIND "${built}" "\"${real}\"" at)
expect("the key compiled into organism is that of the sources now" at GREATER -1)

file(READ ${WORK}/tools/organism/train.c train)
file(APPEND ${WORK}/tools/organism/train.c "/* one comment more */\n")
organism_source_key(${WORK} "${TAG}" changed)
expect("a changed train.c changes the key" NOT changed STREQUAL real)
file(WRITE ${WORK}/tools/organism/train.c "${train}")
organism_source_key(${WORK} "${TAG}" restored)
expect("restoring train.c restores the key" restored STREQUAL real)

file(APPEND ${WORK}/src/core/rng.h "\n")
organism_source_key(${WORK} "${TAG}" rng)
expect("a changed core/rng.h (the world's generator) changes the key" NOT rng STREQUAL real)
file(COPY ${ROOT}/src/core/rng.h DESTINATION ${WORK}/src/core)

file(APPEND ${WORK}/src/grad/model.c "\n")
organism_source_key(${WORK} "${TAG}" graph)
expect("a changed src/grad/model.c (the forward graph the trainer uses) changes the key" NOT graph STREQUAL real)
file(COPY ${ROOT}/src/grad/model.c DESTINATION ${WORK}/src/grad)

file(WRITE ${WORK}/tools/common/extra.h "/* a new header */\n")
organism_source_key(${WORK} "${TAG}" added)
expect("an added header changes the key" NOT added STREQUAL real)
file(REMOVE ${WORK}/tools/common/extra.h)

file(RENAME ${WORK}/tools/organism/vocab.h ${WORK}/tools/organism/vocab2.h)
organism_source_key(${WORK} "${TAG}" renamed)
expect("a renamed file changes the key" NOT renamed STREQUAL real)
file(RENAME ${WORK}/tools/organism/vocab2.h ${WORK}/tools/organism/vocab.h)

organism_source_key(${WORK} "${TAG}-other" tagged)
expect("another llama.cpp tag changes the key" NOT tagged STREQUAL real)
organism_source_key(${WORK} "${TAG}" again)
expect("and the key is the same again" again STREQUAL real)
