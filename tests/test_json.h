/* A strict JSON reader for the suite: recursive descent over RFC 8259 into a small tree (test_trace.c reads trace files with it). */
#ifndef FRONTA_TEST_JSON_H
#define FRONTA_TEST_JSON_H

#include <stdlib.h>
#include <string.h>

/* Any syntax error fails the parse; the values form a tree. */

enum { JNULL, JBOOL, JNUM, JSTR, JARR, JOBJ };

typedef struct jv {
    int type;
    double num;
    char *str;                  /* JSTR */
    struct jv *item;            /* JARR, JOBJ: n values */
    char **key;                 /* JOBJ: n keys */
    size_t n;
} jv;

typedef struct jp {
    const char *s, *end;
    int depth;
    const char *err;
} jp;

static void jv_free(jv *v)
{
    for (size_t i = 0; i < v->n; i++) {
        jv_free(&v->item[i]);
        if (v->key)
            free(v->key[i]);
    }
    free(v->item);
    free(v->key);
    free(v->str);
}

static void jp_ws(jp *p)
{
    while (p->s < p->end && (*p->s == ' ' || *p->s == '\t' || *p->s == '\n' || *p->s == '\r'))
        p->s++;
}

static int jp_fail(jp *p, const char *why)
{
    if (!p->err)
        p->err = why;
    return -1;
}

static int jp_value(jp *p, jv *v);

static int jp_hex4(jp *p, unsigned *out)
{
    *out = 0;
    for (int i = 0; i < 4; i++, p->s++) {
        if (p->s >= p->end)
            return jp_fail(p, "short \\u escape");
        char c = *p->s;
        int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10
                : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
        if (d < 0)
            return jp_fail(p, "bad \\u escape");
        *out = *out * 16 + (unsigned)d;
    }
    return 0;
}

/* Strings keep escapes decoded (a \u escape as '?': the checks read ASCII). */
static int jp_string(jp *p, char **out)
{
    if (p->s >= p->end || *p->s != '"')
        return jp_fail(p, "expected a string");
    p->s++;
    size_t cap = 16, n = 0;
    char *b = malloc(cap);
    for (;;) {
        if (p->s >= p->end) {
            free(b);
            return jp_fail(p, "unterminated string");
        }
        unsigned char c = (unsigned char)*p->s++;
        if (c == '"')
            break;
        if (c < 0x20) {
            free(b);
            return jp_fail(p, "control character in a string");
        }
        if (c == '\\') {
            if (p->s >= p->end) {
                free(b);
                return jp_fail(p, "bad escape");
            }
            char e = *p->s++;
            unsigned u;
            const char *map = strchr("\"\\/bfnrt", e);
            if (e == 'u') {
                if (jp_hex4(p, &u)) {
                    free(b);
                    return -1;
                }
                c = u < 0x80 ? (unsigned char)u : '?';
            } else if (map && e) {
                c = (unsigned char)"\"\\/\b\f\n\r\t"[map - "\"\\/bfnrt"];
            } else {
                free(b);
                return jp_fail(p, "bad escape");
            }
        }
        if (n + 2 > cap)
            b = realloc(b, cap *= 2);
        b[n++] = (char)c;
    }
    b[n] = 0;
    *out = b;
    return 0;
}

static int jp_digits(jp *p)
{
    const char *s = p->s;
    while (p->s < p->end && *p->s >= '0' && *p->s <= '9')
        p->s++;
    return p->s > s ? 0 : jp_fail(p, "expected digits");
}

static int jp_number(jp *p, jv *v)
{
    const char *s = p->s;
    if (p->s < p->end && *p->s == '-')
        p->s++;
    if (p->s < p->end && *p->s == '0')
        p->s++; /* no leading zeros */
    else if (jp_digits(p))
        return -1;
    if (p->s < p->end && *p->s == '.') {
        p->s++;
        if (jp_digits(p))
            return -1;
    }
    if (p->s < p->end && (*p->s == 'e' || *p->s == 'E')) {
        p->s++;
        if (p->s < p->end && (*p->s == '+' || *p->s == '-'))
            p->s++;
        if (jp_digits(p))
            return -1;
    }
    char tmp[64];
    size_t len = (size_t)(p->s - s);
    if (len >= sizeof tmp)
        return jp_fail(p, "number too long");
    memcpy(tmp, s, len);
    tmp[len] = 0;
    v->type = JNUM;
    v->num = strtod(tmp, NULL);
    return 0;
}

static int jp_word(jp *p, const char *w, jv *v, int type, double num)
{
    size_t n = strlen(w);
    if ((size_t)(p->end - p->s) < n || memcmp(p->s, w, n))
        return jp_fail(p, "unexpected character");
    p->s += n;
    v->type = type;
    v->num = num;
    return 0;
}

/* An array or an object: items separated by commas, no trailing one. */
static int jp_list(jp *p, jv *v, int obj)
{
    char close = obj ? '}' : ']';
    size_t cap = 0;
    v->type = obj ? JOBJ : JARR;
    p->s++;
    jp_ws(p);
    if (p->s < p->end && *p->s == close) {
        p->s++;
        return 0;
    }
    for (;;) {
        if (v->n == cap) {
            cap = cap ? 2 * cap : 8;
            v->item = realloc(v->item, cap * sizeof *v->item);
            if (obj)
                v->key = realloc(v->key, cap * sizeof *v->key);
        }
        jv *it = &v->item[v->n];
        memset(it, 0, sizeof *it);
        jp_ws(p);
        if (obj) {
            if (jp_string(p, &v->key[v->n]))
                return -1;
            jp_ws(p);
            if (p->s >= p->end || *p->s++ != ':') {
                free(v->key[v->n]);
                return jp_fail(p, "expected ':'");
            }
        }
        v->n++;
        if (jp_value(p, it))
            return -1;
        jp_ws(p);
        if (p->s < p->end && *p->s == ',') {
            p->s++;
            continue;
        }
        if (p->s < p->end && *p->s == close) {
            p->s++;
            return 0;
        }
        return jp_fail(p, obj ? "expected ',' or '}'" : "expected ',' or ']'");
    }
}

static int jp_value(jp *p, jv *v)
{
    memset(v, 0, sizeof *v);
    jp_ws(p);
    if (p->s >= p->end)
        return jp_fail(p, "unexpected end");
    if (++p->depth > 64)
        return jp_fail(p, "nested too deep");
    int rc;
    switch (*p->s) {
    case '{':
        rc = jp_list(p, v, 1);
        break;
    case '[':
        rc = jp_list(p, v, 0);
        break;
    case '"':
        v->type = JSTR;
        rc = jp_string(p, &v->str);
        break;
    case 't':
        rc = jp_word(p, "true", v, JBOOL, 1);
        break;
    case 'f':
        rc = jp_word(p, "false", v, JBOOL, 0);
        break;
    case 'n':
        rc = jp_word(p, "null", v, JNULL, 0);
        break;
    default:
        rc = jp_number(p, v);
        break;
    }
    p->depth--;
    return rc;
}

/* Parse a whole text: one value, then only white space. */
static int json_parse(const char *text, size_t len, jv *out, const char **err)
{
    jp p = {text, text + len, 0, NULL};
    int rc = jp_value(&p, out);
    jp_ws(&p);
    if (!rc && p.s != p.end)
        rc = jp_fail(&p, "text after the value");
    *err = p.err;
    if (rc)
        jv_free(out);
    return rc;
}

static const jv *jv_get(const jv *o, const char *key)
{
    if (!o || o->type != JOBJ)
        return NULL;
    for (size_t i = 0; i < o->n; i++)
        if (!strcmp(o->key[i], key))
            return &o->item[i];
    return NULL;
}

static const char *jv_str(const jv *o, const char *key)
{
    const jv *v = jv_get(o, key);
    return v && v->type == JSTR ? v->str : NULL;
}

static double jv_num(const jv *o, const char *key, double dflt)
{
    const jv *v = jv_get(o, key);
    return v && v->type == JNUM ? v->num : dflt;
}

#endif
