# Unit tests of the fleet link's signed messages (agent/fleet/fleet_envelope.c):
# the replay cache kept on disk, no broker and no hv-core.
if(TARGET hvfleetenv AND TARGET hvpki)
  hv_criterion_test(unit_fleet_envelope SOURCES ${CMAKE_CURRENT_LIST_DIR}/fleet_envelope_test.c
    ${CMAKE_CURRENT_LIST_DIR}/pki_testutil.c LIBS hvfleetenv hvpki LABELS unit TIMEOUT 120)
endif()
