# Sanitizer builds (scripts/native-checks.sh): -DVSGD_SANITIZE=address,undefined compiles and links
# every target defined after this point with those sanitizers, with frame pointers for stacks.
# Meant for the core and native/tools (-DVSGD_ADDON=OFF): an ASan-built vsgd.node only loads into
# a Node that preloads the ASan runtime.
set(VSGD_SANITIZE "" CACHE STRING "Comma-separated -fsanitize= list for the core and tools (e.g. address,undefined)")
if(VSGD_SANITIZE)
  add_compile_options(-fsanitize=${VSGD_SANITIZE} -fno-sanitize-recover=all -fno-omit-frame-pointer -g)
  add_link_options(-fsanitize=${VSGD_SANITIZE})
  if(VSGD_ADDON)
    message(WARNING "VSGD_SANITIZE with VSGD_ADDON=ON: vsgd.node will need the sanitizer runtime preloaded")
  endif()
  message(STATUS "vsgd: sanitizers ${VSGD_SANITIZE}")
endif()
