/* assert.h - mbedTLS's internal assertions are compiled out in hv-core. */
#ifndef HV_ASSERT_H
#define HV_ASSERT_H
#define assert(x) ((void)0)
#endif
