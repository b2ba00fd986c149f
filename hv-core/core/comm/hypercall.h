/* hypercall.h - hv-core's own hypercalls (GABI-030), vendor-specific service owner 6. */
#ifndef HV_HYPERCALL_H
#define HV_HYPERCALL_H
struct vcpu;
struct trap_frame;
/* f->x[0] holds an id in HVG_HC_NULL .. HVG_HC_NULL + HVG_HC_COUNT - 1. */
void hypercall_handle(struct vcpu *v, struct trap_frame *f);
#endif
