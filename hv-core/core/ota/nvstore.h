/*
 * nvstore.h - hv-core's non-volatile state (docs/mgmt-abi.md MGMT-600..603):
 * one record, kept in two copies in the first two erase blocks of hv-core's
 * flash bank, each with a sequence number and a SHA-256. The record names the
 * A/B image slots of each VM (by name), their states, the anti-rollback floor
 * and the audit head sequence the agent handed over. The slots' bytes follow
 * the two copies in the same bank (MGMT-601).
 */
#ifndef HV_NVSTORE_H
#define HV_NVSTORE_H
#include <stdint.h>
#include "hvmgmt.h"

#define NV_MAX_VMS 8u            /* VMs with OTA slots       */
#define NV_SLOT_SIZE 0x3C0000ull /* 3.75 MiB per image slot  */
#define NV_REC_MAGIC 0x564E5648u /* "HVNV"                   */
#define NV_REC_VERSION                                                                             \
	4u /* 4: slot origins (nv_origin); 3: slot store places (nv_place); \
			   2: update groups (nv_group); 1..3 are read and converted */
#define NV_BUNDLE_ID_LEN 16u

struct nv_vm {
	char name[HVM_NAME_LEN];     /* "" = unused entry                    */
	uint32_t active;             /* 0 = A, 1 = B                          */
	uint32_t trial;              /* 1: the active slot is in trial        */
	uint32_t last_result;        /* enum hvm_ota_result                   */
	uint32_t _rsvd;              /*                                       */
	char floor[HVM_VERSION_LEN]; /* anti-rollback floor, "" = none        */
	struct hvm_ota_slot slot[2]; /* A, B                                  */
};

/* MGMT-650: the update group of the slot an entry installed last (its READY,
 * TRIAL or confirmed new slot): the manifest's bundle-id and how many VMs the
 * manifest names. members 0 or 1: the VM is updated alone. */
struct nv_group {
	uint8_t bundle[NV_BUNDLE_ID_LEN];
	uint32_t members;
	uint32_t _rsvd;
};

/* MGMT-662: where an entry's slots lie in the slot store (MGMT-661): image A,
 * image B, initrd A, initrd B at off[0..3]; size[0] bytes per image slot,
 * size[1] per initrd slot (0: no initrd slots). size[0] 0: the entry's image
 * slots are in the flash bank (MGMT-601). */
struct nv_place {
	uint64_t off[4];
	uint64_t size[2];
	/* MGMT-663: initrd A, B: state (that of the image slot of the same
	 * letter once the pair is switched to), bytes, digest, version */
	struct hvm_ota_slot initrd[2];
};

/* MGMT-664: the bundle each slot's bytes came from: the first NV_ORIGIN_LEN
 * bytes of the SHA-256 of the signed manifest that installed it, for image
 * A, image B, initrd A, initrd B. All zero: installed from a bare digest
 * (MGMT-612), or the VM's configured image. */
#define NV_ORIGIN_LEN 16u
struct nv_origin {
	uint8_t manifest[4][NV_ORIGIN_LEN];
};

struct nv_rec {
	uint32_t magic;   /* NV_REC_MAGIC                                  */
	uint16_t version; /* NV_REC_VERSION                                */
	uint16_t _rsvd0;
	uint32_t size; /* sizeof(struct nv_rec)                          */
	/* MGMT-500: hv-core boots counted in this record (the word was reserved,
	 * zero, before: a record written earlier counts from 0). */
	uint32_t boots;
	uint64_t seq;       /* incremented by every write; the higher valid copy wins */
	uint64_t audit_seq; /* MGMT-630: the agent's newest audit head sequence     */
	struct nv_vm vm[NV_MAX_VMS];
	struct nv_group grp[NV_MAX_VMS];     /* version 2: grp[i] belongs to vm[i]   */
	struct nv_place place[NV_MAX_VMS];   /* version 3: place[i] belongs to vm[i] */
	struct nv_origin origin[NV_MAX_VMS]; /* version 4: origin[i] belongs to vm[i] */
	uint8_t sha256[32];                  /* over every byte before it                         */
};

/* Reads both copies and keeps the valid one with the higher sequence (a fresh
 * record when neither is valid), then counts this boot in it (MGMT-500). Logs
 * what it found. */
void nv_init(void);
/* 1 when the platform has hv-core's flash bank. */
int nv_present(void);
/* MGMT-500: the number of this boot (1 = the first one the record saw), 0
 * without non-volatile storage or when counting it could not be stored. */
uint32_t nv_boot(void);
/* The working record: change it, then nv_commit(). */
struct nv_rec *nv_rec(void);
/* Writes the working record as the next sequence into the older copy and reads
 * it back. On failure the working record returns to the last one stored and
 * -1 is returned: nothing changed. */
int nv_commit(void);
/* Forgets changes to the working record since the last commit. */
void nv_discard(void);
/* The group fields of entry e. */
struct nv_group *nv_group_of(const struct nv_vm *e);
/* MGMT-662: the slot store place of entry e. */
struct nv_place *nv_place_of(const struct nv_vm *e);
/* MGMT-664: the slot origins of entry e. */
struct nv_origin *nv_origin_of(const struct nv_vm *e);
/* MGMT-662: gives entry e image slots of img bytes and initrd slots of initrd
 * bytes (each rounded up to 2 MiB) after every place taken in the slot store.
 * 0, or -1 when there is no slot store or it has no room (nothing changed). */
int nv_place_alloc(struct nv_vm *e, uint64_t img, uint64_t initrd);
/* Bytes slot s of entry e holds: s 0/1 image A/B, 2/3 initrd A/B (0 when the
 * entry has no such slot, or its slots are in a slot store this boot lacks). */
uint64_t nv_slot_cap(const struct nv_vm *e, uint32_t s);
/* The entry of VM `name`; with create, a free one is taken (NULL when full). */
struct nv_vm *nv_vm_find(const char *name, int create);
/* Slot s of entry e (as nv_slot_cap): writes len bytes from src (erasing
 * first); -1 when they do not fit or the storage failed. */
int nv_slot_write(const struct nv_vm *e, uint32_t s, const volatile uint8_t *src, uint64_t len);
/* MGMT-711: one unit of nv_slot_write() from byte pos (0 first, then what
 * the calls before returned): at most max bytes (whole 4 KiB chunks on the
 * flash bank), the erase blocks as the write reaches them, the power-cut
 * point (MGMT-604) where the write passes half of len. The bytes written (0
 * only for len 0), -1 when they do not fit or the storage failed. */
int64_t nv_slot_write_unit(const struct nv_vm *e, uint32_t s, const volatile uint8_t *src,
			   uint64_t len, uint64_t pos, uint64_t max);
void nv_slot_read(const struct nv_vm *e, uint32_t s, void *dst, uint64_t len);
/* SHA-256 of the first len bytes of slot s. */
void nv_slot_sha256(const struct nv_vm *e, uint32_t s, uint64_t len, uint8_t out[32]);
/* MGMT-711: bytes [pos, pos + n) of slot s into the digest h (pos a multiple
 * of 4 KiB). */
struct sha256;
void nv_slot_sha256_unit(const struct nv_vm *e, uint32_t s, struct sha256 *h, uint64_t pos,
			 uint64_t n);
#endif
