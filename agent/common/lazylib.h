/* lazylib.h - optional shared libraries loaded on first use.
 *
 * hv-agent's fleet link (libmosquitto), its HTTPS downloads (libcurl) and the
 * diagnostic archive (libarchive) are not linked in: each user keeps a table
 * of the functions it calls and loads the library with dlopen() the first
 * time the feature runs, so a daemon that never uses them does not carry
 * their pages (nor those of the libraries they bring in). A user declares
 *
 *	#define MQ_FNS(X) X(lib_init) X(new) X(destroy)
 *	static struct {
 *	#define MQ_PTR(n) __typeof__(mosquitto_##n) *n;
 *		MQ_FNS(MQ_PTR)
 *	} mq;
 *	#define MQ_NAME(n) "mosquitto_" #n,
 *	static const char *const mq_names[] = { MQ_FNS(MQ_NAME) };
 *	static struct lazylib mq_lib = LAZYLIB_INIT("libmosquitto.so.1", mq_names, &mq);
 *
 * and calls lazylib_load(&mq_lib, st) before the first mq.new(...). The table
 * is a struct of function pointers only, in the order of the names. */
#ifndef HV_LAZYLIB_H
#define HV_LAZYLIB_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>

#include "status.h"

struct lazylib {
	const char *soname;
	const char *const *names; /* symbol names, in the order of the table */
	size_t n;
	void *table; /* a struct of n function pointers */
	size_t table_size;
	pthread_mutex_t lock;
	bool loaded;
};

#define LAZYLIB_INIT(so, names_, table_)                                                           \
	{                                                                                          \
		.soname = (so), .names = (names_), .n = sizeof(names_) / sizeof((names_)[0]),      \
		.table = (table_), .table_size = sizeof(*(table_)),                                \
		.lock = PTHREAD_MUTEX_INITIALIZER, .loaded = false                                 \
	}

/* Loads l->soname and fills the table, once; 0 when every symbol is there.
 * Otherwise -1 with st UNAVAILABLE naming the library and what is missing
 * ("libcurl.so.4: cannot open shared object file: ...", or "libcurl.so.4:
 * no symbol curl_easy_init"); the table is left untouched and a later call
 * tries again. Safe from any thread. */
int lazylib_load(struct lazylib *l, struct hv_status *st);

#endif /* HV_LAZYLIB_H */
