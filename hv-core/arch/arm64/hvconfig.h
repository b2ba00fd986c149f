/*
 * hvconfig.h - build-time limits of hv-core, shared by C and assembly.
 * Platform facts (addresses of RAM, GIC, UART, CPUs) are not here: they come
 * from the platform device tree (REQ-STD-06); see core/base/platform.h.
 */
#ifndef HV_CONFIG_H
#define HV_CONFIG_H

#define HV_MAX_CPUS 8
#define HV_STACK_SIZE 0x8000 /* per physical CPU, EL2 */
#define HV_IMAGE_SIZE                                                                              \
	0x00E00000 /* image + bss + heap, from the load address (RAM base + 2 MiB) up to the management region */
#define HV_VERSION "hv-core 0.1.0"

#endif /* HV_CONFIG_H */
