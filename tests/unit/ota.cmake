# Unit tests of the OTA bundle library (ota/): the format, signing, and each
# attack that verification alone refuses (docs/ota.md OTA-030..OTA-041), with
# certificates from the development PKI (agent/pki).
if(TARGET hvota AND TARGET hvpki)
  hv_criterion_test(unit_ota SOURCES ${CMAKE_CURRENT_LIST_DIR}/ota_test.c
    ${CMAKE_CURRENT_LIST_DIR}/pki_testutil.c LIBS hvota hvpki LABELS unit TIMEOUT 120)
endif()
