/* Sessions (section 3.1), their windows of cached answers (3.2) and the write lease (3.3). */
#include "swim_sessions.h"

static uint64_t now_us(const swim_board *board) { return board->hal->micros(board->hal->context); }

swim_session *swim_find_session(swim_board *board, uint16_t id)
{
    for (int i = 0; i < SWIM_MAX_SESSIONS; i++) {
        if (board->sessions[i].open && board->sessions[i].id == id) {
            board->sessions[i].last_active_us = now_us(board);
            return &board->sessions[i];
        }
    }
    return NULL;
}

static swim_session *by_nonce(swim_board *board, uint64_t nonce)
{
    for (int i = 0; i < SWIM_MAX_SESSIONS; i++) {
        if (board->sessions[i].open && board->sessions[i].nonce == nonce) {
            return &board->sessions[i];
        }
    }
    return NULL;
}

static swim_session *lease_holder(swim_board *board)
{
    for (int i = 0; i < SWIM_MAX_SESSIONS; i++) {
        if (board->sessions[i].open && board->sessions[i].holds_lease) {
            return &board->sessions[i];
        }
    }
    return NULL;
}

static int id_in_use(const swim_board *board, uint16_t id)
{
    for (int i = 0; i < SWIM_MAX_SESSIONS; i++) {
        if (board->sessions[i].open && board->sessions[i].id == id) {
            return 1;
        }
    }
    return 0;
}

/* A free slot, or the least recently active session without the lease: there is always one, as at most one holds it. */
static swim_session *make_room(swim_board *board)
{
    swim_session *oldest = NULL;
    for (int i = 0; i < SWIM_MAX_SESSIONS; i++) {
        swim_session *s = &board->sessions[i];
        if (!s->open) {
            return s;
        }
        if (!s->holds_lease && (oldest == NULL || s->last_active_us < oldest->last_active_us)) {
            oldest = s;
        }
    }
    return oldest;
}

static swim_session *create(swim_board *board, uint64_t nonce)
{
    swim_session *s = make_room(board);
    while (board->next_session_id == 0 || id_in_use(board, board->next_session_id)) {
        board->next_session_id++;
    }
    s->id = board->next_session_id++;
    s->open = 1;
    s->holds_lease = 0;
    s->executed_any = 0;
    s->nonce = nonce;
    s->newest = 0;
    for (int i = 0; i < SWIM_CACHE_DEPTH; i++) {
        s->cache[i].used = 0;
    }
    return s;
}

uint8_t swim_open_session(swim_board *board, const uint8_t *p, uint8_t *out, uint32_t *out_length)
{
    uint64_t nonce = get_u64(p);
    int writing = p[8] & 1;
    uint16_t resume = get_u16(p + 9);
    swim_session *session = resume != 0 ? swim_find_session(board, resume) : by_nonce(board, nonce);
    if (resume != 0 && (session == NULL || session->nonce != nonce)) {
        return ST_NO_SESSION; /* lost with power, evicted, or somebody else's: its cache is gone */
    }
    swim_session *holder = lease_holder(board);
    uint64_t now = now_us(board);
    if (writing && holder != NULL && holder != session && now - holder->last_active_us <= (uint64_t)board->config->lease_ms * 1000u) {
        return ST_LEASE_HELD;
    }
    if (session == NULL) {
        session = create(board, nonce);
    }
    if (writing && holder != session) {
        if (holder != NULL) {
            holder->holds_lease = 0;
        }
        session->holds_lease = 1;
    } else if (!writing) {
        session->holds_lease = 0;
    }
    session->last_active_us = now;
    put_u16(out, session->id);
    out[2] = session->holds_lease;
    put_u32(out + 3, board->config->lease_ms);
    put_u16(out + 7, SWIM_CACHE_DEPTH);
    out[9] = resume != 0;
    put_u32(out + 10, session->executed_any ? session->newest : 0);
    *out_length = OPEN_RESPONSE_LENGTH;
    return ST_OK;
}

void swim_close_session(swim_session *session)
{
    session->open = 0;
    session->holds_lease = 0;
}

swim_window_verdict swim_window_check(const swim_session *session, uint32_t sequence, const swim_cached **cached)
{
    if (!session->executed_any) {
        return SWIM_EXECUTE;
    }
    uint32_t behind = session->newest - sequence; /* modulo 2^32 */
    if (behind >= 0x80000000u) {
        return SWIM_EXECUTE; /* ahead of the newest */
    }
    if (behind >= SWIM_CACHE_DEPTH) {
        return SWIM_STALE; /* however far behind: a new series is a new session */
    }
    const swim_cached *slot = &session->cache[sequence & (SWIM_CACHE_DEPTH - 1)];
    if (slot->used && slot->sequence == sequence) {
        *cached = slot;
        return SWIM_REPLAY;
    }
    return SWIM_EXECUTE; /* within the window and never run: a first attempt overtaken by later requests */
}

void swim_remember(swim_session *session, uint32_t sequence, uint8_t opcode, uint8_t status, const uint8_t *payload,
                   uint32_t length)
{
    swim_cached *slot = &session->cache[sequence & (SWIM_CACHE_DEPTH - 1)];
    slot->used = 1;
    slot->sequence = sequence;
    slot->opcode = opcode;
    slot->status = status;
    slot->length = (uint16_t)length;
    memcpy(slot->payload, payload, length);
    if (!session->executed_any || session->newest - sequence >= 0x80000000u) {
        session->newest = sequence;
    }
    session->executed_any = 1;
}

void swim_drop_sessions(swim_board *board)
{
    for (int i = 0; i < SWIM_MAX_SESSIONS; i++) {
        swim_close_session(&board->sessions[i]);
    }
}
