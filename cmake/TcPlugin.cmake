# tc_add_plugin(NAME SOURCES...) - a plugin as a MODULE library linked to tc::sdk only.
# Output goes to <build>/lib/tcd/plugins (so in-tree binaries find it the same
# way installed ones do) and installs to <prefix>/lib/tcd/plugins.
function(tc_add_plugin name)
  add_library(tcplugin_${name} MODULE ${ARGN})
  target_link_libraries(tcplugin_${name} PRIVATE tc::sdk)
  set_target_properties(tcplugin_${name} PROPERTIES
    PREFIX ""
    OUTPUT_NAME "${name}"
    LIBRARY_OUTPUT_DIRECTORY "${TC_PLUGIN_BUILD_DIR}")
  install(TARGETS tcplugin_${name} LIBRARY DESTINATION "${TC_PLUGIN_INSTALL_DIR}")
endfunction()
