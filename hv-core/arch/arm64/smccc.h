/* smccc.h - dispatch of a guest's SMCCC call (HVC or trapped SMC) by function id. */
#ifndef HV_SMCCC_H
#define HV_SMCCC_H
struct vcpu;
struct trap_frame;
void smccc_guest_call(struct vcpu *v, struct trap_frame *f);
#endif
