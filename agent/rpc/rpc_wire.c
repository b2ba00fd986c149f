/*
 * rpc_wire.c - checks the string fields of an encoded request before it is
 * decoded. protobuf-c copies a string field into a NUL-terminated C string
 * without looking at it: an embedded NUL would silently cut the string (a
 * selector "web\0x" would name VM "web"), and invalid UTF-8, which proto3
 * forbids in strings, would reach logs and error messages. The walk follows
 * the descriptor into nested messages; anything it does not understand is
 * left to protobuf_c_message_unpack, which refuses malformed encodings.
 */
#include "rpc_priv.h"

#include <stdio.h>
#include <string.h>

/* Depth of nested messages followed; requests nest two levels. */
#define WIRE_MAX_DEPTH 8

static int varint(const uint8_t **p, const uint8_t *end, uint64_t *v)
{
	*v = 0;
	for (unsigned shift = 0; shift < 64 && *p < end; shift += 7) {
		uint8_t b = *(*p)++;
		*v |= (uint64_t)(b & 0x7f) << shift;
		if (!(b & 0x80))
			return 0;
	}
	return -1;
}

/* Well-formed UTF-8 (RFC 3629): no overlong forms, no surrogates. */
static int utf8_ok(const uint8_t *s, size_t n)
{
	size_t i = 0;

	while (i < n) {
		uint8_t c = s[i];
		size_t k;
		uint32_t cp;
		if (c < 0x80) {
			i++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf)
			k = 1, cp = c & 0x1f;
		else if (c >= 0xe0 && c <= 0xef)
			k = 2, cp = c & 0x0f;
		else if (c >= 0xf0 && c <= 0xf4)
			k = 3, cp = c & 0x07;
		else
			return 0;
		if (n - i <= k)
			return 0;
		for (size_t j = 1; j <= k; j++) {
			if ((s[i + j] & 0xc0) != 0x80)
				return 0;
			cp = cp << 6 | (s[i + j] & 0x3f);
		}
		if ((k == 2 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
		    (k == 3 && (cp < 0x10000 || cp > 0x10ffff)))
			return 0;
		i += k + 1;
	}
	return 1;
}

static int walk(const ProtobufCMessageDescriptor *d, const uint8_t *p, const uint8_t *end,
		int depth, char *bad, size_t bad_len)
{
	while (p < end) {
		uint64_t key, len;
		if (varint(&p, end, &key) != 0)
			return 0; /* malformed: protobuf-c says so */
		switch (key & 7) {
		case 0:
			if (varint(&p, end, &len) != 0)
				return 0;
			continue;
		case 1:
			if (end - p < 8)
				return 0;
			p += 8;
			continue;
		case 5:
			if (end - p < 4)
				return 0;
			p += 4;
			continue;
		case 2:
			break;
		default:
			return 0;
		}
		if (varint(&p, end, &len) != 0 || len > (uint64_t)(end - p))
			return 0;
		const ProtobufCFieldDescriptor *f =
			key >> 3 <= UINT32_MAX
				? protobuf_c_message_descriptor_get_field(d, (unsigned)(key >> 3))
				: NULL;
		if (f && f->type == PROTOBUF_C_TYPE_STRING) {
			const char *why = memchr(p, 0, len)  ? "holds a NUL byte"
					  : !utf8_ok(p, len) ? "is not valid UTF-8"
							     : NULL;
			if (why) {
				snprintf(bad, bad_len, "field %s.%s %s", d->short_name, f->name, why);
				return -1;
			}
		} else if (f && f->type == PROTOBUF_C_TYPE_MESSAGE && depth < WIRE_MAX_DEPTH) {
			if (walk(f->descriptor, p, p + len, depth + 1, bad, bad_len) != 0)
				return -1;
		}
		p += len;
	}
	return 0;
}

int rpc_wire_check_strings(const ProtobufCMessageDescriptor *d, const uint8_t *data, size_t len,
			   char *bad, size_t bad_len)
{
	return walk(d, data, data + len, 0, bad, bad_len);
}
