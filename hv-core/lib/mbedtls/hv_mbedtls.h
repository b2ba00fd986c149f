/* hv_mbedtls.h - the mbedTLS interfaces hv-core uses (X.509, PK, ECP, OIDs). */
#ifndef HV_MBEDTLS_H
#define HV_MBEDTLS_H
#include "mbedtls/x509_crt.h"
#include "mbedtls/pk.h"
#include "mbedtls/ecp.h"
#include "mbedtls/oid.h"
#endif
