# Unit tests of the fleet link's signed messages (agent/fleet/fleet_envelope.c):
# the replay cache kept on disk, no broker and no hv-core.
if(TARGET hvfleetenv AND TARGET hvpki)
  hv_criterion_test(unit_fleet_envelope SOURCES ${CMAKE_CURRENT_LIST_DIR}/fleet_envelope_test.c
    ${CMAKE_CURRENT_LIST_DIR}/pki_testutil.c LIBS hvfleetenv hvpki LABELS unit TIMEOUT 120)
endif()
# The download of an update bundle over HTTPS (agent/fleet/fleet_fetch.c)
# against a local HTTPS server of Debian's python3 with range requests.
if(TARGET hvfleetfetch AND TARGET hvpki)
  include(${HV_SOURCE_DIR}/tests/integration/python_client.cmake)
  hv_criterion_test(unit_fleet_fetch SOURCES ${CMAKE_CURRENT_LIST_DIR}/fleet_fetch_test.c
    ${CMAKE_CURRENT_LIST_DIR}/pki_testutil.c LIBS hvfleetfetch hvpki LABELS unit TIMEOUT 180)
  target_compile_definitions(unit_fleet_fetch PRIVATE HV_PYTHON3="${HV_SYSTEM_PYTHON}"
    HV_FETCH_SERVER="${CMAKE_CURRENT_LIST_DIR}/fleet_fetch_server.py")
endif()
