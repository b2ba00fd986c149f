/* uuid.h - VM uuids in their canonical text form (8-4-4-4-12 lower-case hex),
 * shared by hv-agent and hvctl. */
#ifndef HV_UUID_H
#define HV_UUID_H

#include <stdint.h>

#define HV_UUID_STR_LEN 37 /* 36 characters and the NUL */

void hv_uuid_format(const uint8_t u[16], char out[HV_UUID_STR_LEN]);

/* Parses the canonical form, either case; -1 if s is anything else. */
int hv_uuid_parse(const char *s, uint8_t out[16]);

#endif /* HV_UUID_H */
