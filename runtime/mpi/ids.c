/* Global task ids: the map from this rank's local task ids that may be a
 * failure's root to the global id every rank names that root by. */
#include "mpi/mpi_internal.h"

#include <stdlib.h>

#define EMPTY 0u          /* a runtime's task ids start at 1 */
#define TOMB UINT64_MAX   /* removed: probing goes on past it */

static size_t slot_of(uint64_t key, size_t cap)
{
    return (size_t)((key * 0x9e3779b97f4a7c15ull) >> 17) & (cap - 1);
}

static void insert(fronta_mpi_t *m, uint64_t key, uint64_t val)
{
    size_t i = slot_of(key, m->id_cap);
    while (m->id_keys[i] != EMPTY && m->id_keys[i] != TOMB && m->id_keys[i] != key)
        i = (i + 1) & (m->id_cap - 1);
    if (m->id_keys[i] == key) {
        m->id_vals[i] = val;
        return;
    }
    if (m->id_keys[i] == TOMB)
        m->id_dead--;
    m->id_keys[i] = key;
    m->id_vals[i] = val;
    m->id_used++;
}

/* Load (live + removed) under a half; the table shrinks back as tasks
 * that finished leave it (only roots stay). */
static int reserve(fronta_mpi_t *m)
{
    if (m->id_cap && (m->id_used + m->id_dead + 1) * 2 <= m->id_cap)
        return 0;
    size_t cap = 64;
    while ((m->id_used + 1) * 4 > cap)
        cap *= 2;
    uint64_t *keys = calloc(cap, sizeof *keys), *vals = calloc(cap, sizeof *vals);
    if (!keys || !vals) {
        free(keys);
        free(vals);
        return FRONTA_ENOMEM;
    }
    uint64_t *ok = m->id_keys, *ov = m->id_vals;
    size_t ocap = m->id_cap;
    m->id_keys = keys;
    m->id_vals = vals;
    m->id_cap = cap;
    m->id_used = m->id_dead = 0;
    for (size_t i = 0; i < ocap; i++)
        if (ok[i] != EMPTY && ok[i] != TOMB)
            insert(m, ok[i], ov[i]);
    free(ok);
    free(ov);
    return 0;
}

int fronta__mpi_id_put(fronta_mpi_t *m, uint64_t local, uint64_t gid)
{
    if (local == EMPTY || local == TOMB)
        return 0;
    pthread_mutex_lock(&m->idlock);
    int rc = reserve(m);
    if (!rc)
        insert(m, local, gid);
    pthread_mutex_unlock(&m->idlock);
    return rc;
}

static size_t find(const fronta_mpi_t *m, uint64_t key)
{
    if (!m->id_cap || key == EMPTY || key == TOMB)
        return SIZE_MAX;
    for (size_t i = slot_of(key, m->id_cap);; i = (i + 1) & (m->id_cap - 1)) {
        if (m->id_keys[i] == key)
            return i;
        if (m->id_keys[i] == EMPTY)
            return SIZE_MAX;
    }
}

void fronta__mpi_id_del(fronta_mpi_t *m, uint64_t local)
{
    pthread_mutex_lock(&m->idlock);
    size_t i = find(m, local);
    if (i != SIZE_MAX) {
        m->id_keys[i] = TOMB;
        m->id_used--;
        m->id_dead++;
    }
    pthread_mutex_unlock(&m->idlock);
}

uint64_t fronta__mpi_id_global(fronta_mpi_t *m, uint64_t root)
{
    if (root >= FRONTA__MPI_ID_BASE)
        return root;
    pthread_mutex_lock(&m->idlock);
    size_t i = find(m, root);
    uint64_t g = i == SIZE_MAX ? root : m->id_vals[i];
    pthread_mutex_unlock(&m->idlock);
    return g;
}

void fronta__mpi_ids_free(fronta_mpi_t *m)
{
    free(m->id_keys);
    free(m->id_vals);
    m->id_keys = m->id_vals = NULL;
    m->id_cap = m->id_used = m->id_dead = 0;
}
