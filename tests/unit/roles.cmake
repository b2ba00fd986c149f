# Unit tests of the authorization table and identity parser (agent/auth/roles.c).
if(TARGET hvauth)
  hv_criterion_test(unit_roles SOURCES ${CMAKE_CURRENT_LIST_DIR}/roles_test.c
    LIBS hvauth LABELS unit TIMEOUT 60)
endif()
