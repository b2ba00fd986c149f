/* lazylib.c - optional shared libraries loaded on first use (lazylib.h). */
#include "lazylib.h"

#include <dlfcn.h>
#include <string.h>

int lazylib_load(struct lazylib *l, struct hv_status *st)
{
	int rc = 0;

	pthread_mutex_lock(&l->lock);
	if (l->loaded)
		goto out;
	if (l->table_size != l->n * sizeof(void (*)(void))) {
		rc = hv_status_set(st, HV_INTERNAL, "%s: a table of %zu bytes for %zu functions",
				   l->soname, l->table_size, l->n);
		goto out;
	}
	void *h = dlopen(l->soname, RTLD_NOW | RTLD_LOCAL);
	if (!h) {
		const char *why = dlerror();
		if (!why)
			why = "cannot be loaded";
		/* glibc's message names the file already: "libx.so.1: cannot open ..." */
		if (strncmp(why, l->soname, strlen(l->soname)) == 0)
			rc = hv_status_set(st, HV_UNAVAILABLE, "%s", why);
		else
			rc = hv_status_set(st, HV_UNAVAILABLE, "%s: %s", l->soname, why);
		goto out;
	}
	for (size_t i = 0; i < l->n; i++) {
		void *f = dlsym(h, l->names[i]);
		if (!f) {
			rc = hv_status_set(st, HV_UNAVAILABLE, "%s: no symbol %s", l->soname,
					   l->names[i]);
			dlclose(h);
			goto out;
		}
	}
	/* All there: fill the table (POSIX lets a dlsym() result be a function). */
	for (size_t i = 0; i < l->n; i++) {
		void *f = dlsym(h, l->names[i]);
		memcpy((char *)l->table + i * sizeof f, &f, sizeof f);
	}
	l->loaded = true; /* the handle stays open for the life of the process */
out:
	pthread_mutex_unlock(&l->lock);
	return rc;
}
