# Unit tests of the development / fleet PKI (agent/pki): certificates checked
# with mbedTLS, and interoperability with OpenSSL-based TLS and gRPC through
# Debian's python3 (ssl module, python3-grpcio).
if(TARGET hvpki)
  hv_criterion_test(unit_pki SOURCES ${CMAKE_CURRENT_LIST_DIR}/pki_test.c
    ${CMAKE_CURRENT_LIST_DIR}/pki_testutil.c LIBS hvpki LABELS unit TIMEOUT 120)
  # The system interpreter: it is the one python3-grpcio is installed for.
  include(${HV_SOURCE_DIR}/tests/integration/python_client.cmake)
  hv_criterion_test(unit_pki_interop SOURCES ${CMAKE_CURRENT_LIST_DIR}/pki_interop_test.c
    ${CMAKE_CURRENT_LIST_DIR}/pki_testutil.c LIBS hvpki LABELS unit TIMEOUT 120)
  target_compile_definitions(unit_pki_interop PRIVATE HV_PYTHON3="${HV_SYSTEM_PYTHON}")
endif()
