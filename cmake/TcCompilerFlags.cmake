# Warning set from STYLE.md rule 22, hidden visibility, sanitizers.
set(TC_WARNINGS
  -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes -Wvla -Wformat=2
  -Wpointer-arith -Wcast-qual -Wundef -Wno-unused-parameter)
add_compile_options(${TC_WARNINGS})
if(TC_WERROR)
  add_compile_options(-Werror)
endif()
set(CMAKE_C_VISIBILITY_PRESET hidden)
set(CMAKE_VISIBILITY_INLINES_HIDDEN ON)
if(TC_SANITIZE)
  add_compile_options(-fsanitize=${TC_SANITIZE} -fno-omit-frame-pointer -fno-sanitize-recover=all)
  add_link_options(-fsanitize=${TC_SANITIZE})
  add_feature_info(sanitizers ON "built with -fsanitize=${TC_SANITIZE}")
endif()
