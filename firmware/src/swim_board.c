/* The frame path (sections 2 and 3): COBS decoded byte by byte with a running CRC, the header checked, the session's
 * window consulted, the request run once and its answer framed, cached and sent. No floating point here. */
#include "swim_sessions.h"

void swim_link_init(swim_link *link, void *context, void (*write)(void *, const uint8_t *, size_t),
                    void (*frame_queued)(void *))
{
    memset(link, 0, sizeof *link);
    link->context = context;
    link->write = write;
    link->frame_queued = frame_queued;
    link->crc = 0xFFFFFFFFu;
}

static void restart(swim_link *link)
{
    link->body_length = 0;
    link->group_left = link->group_code = link->started = link->cobs_error = 0;
    link->crc = 0xFFFFFFFFu;
}

/* ---- sending ---------------------------------------------------------------------------------------------- */

/* COBS-encodes the body straight onto the link, group by group, with the trailing delimiter (section 2.1). */
static void send_body(swim_link *link, const uint8_t *body, uint32_t length)
{
    uint32_t i = 0;
    for (;;) {
        uint32_t j = i;
        while (j < length && body[j] != 0 && j - i < 254) {
            j++;
        }
        uint8_t code = (uint8_t)(j - i + 1);
        link->write(link->context, &code, 1);
        link->write(link->context, body + i, j - i);
        if (code == 0xFF) {
            i = j;
            if (i == length) {
                break; /* a full group that ends the block has no empty group after it */
            }
            continue;
        }
        if (j == length) {
            break;
        }
        i = j + 1;
    }
    static const uint8_t delimiter = 0;
    link->write(link->context, &delimiter, 1);
    if (link->frame_queued != NULL) {
        link->frame_queued(link->context);
    }
}

/* Frames board->response[12 ..] (already holding `length` payload bytes) as the answer to `header`. */
static void answer(swim_board *board, swim_link *link, const uint8_t *header, uint8_t flags, uint8_t opcode,
                   uint8_t status, uint32_t length)
{
    uint8_t *r = board->response;
    r[0] = 2;
    r[1] = (uint8_t)(FLAG_RESPONSE | flags);
    memcpy(r + 2, header + 2, 6); /* session and sequence, echoed */
    r[8] = opcode;
    r[9] = status;
    put_u16(r + 10, (uint16_t)length);
    put_u32(r + SWIM_HEADER_LENGTH + length, swim_crc32(r, SWIM_HEADER_LENGTH + length));
    send_body(link, r, SWIM_HEADER_LENGTH + length + SWIM_CRC_LENGTH);
}

/* A framing refusal in version 1's layout, for a version 1 host (section 3.7): sequence as received, opcode 0. */
static void answer_version1(swim_board *board, swim_link *link, const uint8_t *header, uint8_t status)
{
    uint8_t *r = board->response;
    r[0] = 1;
    r[1] = FLAG_RESPONSE;
    memcpy(r + 2, header + 2, 4);
    r[6] = 0;
    r[7] = status;
    put_u16(r + 8, 0);
    put_u32(r + 10, swim_crc32(r, 10));
    send_body(link, r, 14);
}

/* ---- commands the board answers itself -------------------------------------------------------------------- */

static uint32_t identify(const swim_board *board, uint8_t *o)
{
    const swim_board_config *c = board->config;
    uint32_t model = bounded_length(c->device_model, 32);
    memset(o, 0, IDENTIFY_MAX_LENGTH);
    o[0] = 2;
    o[1] = c->firmware_major; o[2] = c->firmware_minor; o[3] = c->firmware_patch;
    memcpy(o + 4, c->serial, 16);
    put_u16(o + 20, c->tiles); put_u16(o + 22, c->rows); put_u16(o + 24, c->columns); put_u16(o + 26, c->levels);
    put_f32(o + 28, c->g_min_microsiemens); put_f32(o + 32, c->g_max_microsiemens);
    put_f32(o + 36, c->adc_step_microsiemens);
    put_f32(o + 40, c->amplitude_min_volts); put_f32(o + 44, c->amplitude_max_volts);
    put_u32(o + 48, c->width_min_ns); put_u32(o + 52, c->width_max_ns);
    put_u16(o + 56, SWIM_MAX_BATCH); put_u16(o + 58, SWIM_MAX_PAYLOAD); put_u16(o + 60, SWIM_CACHE_DEPTH);
    put_u32(o + 62, c->read_ns); put_u32(o + 66, c->pulse_ns); put_u32(o + 70, c->verify_iteration_ns);
    /* PROGRAM_VERIFY, PROGRAM, BATCH, PROGRAM_LEVELS, READ_CODES, VERIFY_LEVELS; COUNTERS with per-cell storage. */
    put_u32(o + 74, 0x7Bu | (board->counters != NULL ? 0x04u : 0u));
    o[78] = (uint8_t)model;
    memcpy(o + 79, c->device_model, model);
    uint8_t *v2 = o + 79 + model;
    put_u16(v2, SWIM_MAX_RESPONSE);
    v2[2] = SWIM_MAX_SESSIONS;
    put_u32(v2 + 3, c->lease_ms);
    put_u16(v2 + 7, c->cells_per_pulse);
    put_u16(v2 + 9, c->cells_per_read);
    return 79 + model + 11;
}

static uint32_t status(const swim_board *board, uint8_t *o)
{
    const swim_board_stats *s = &board->stats;
    const swim_board_config *c = board->config;
    /* Nominal device time (section 5, STATUS): an iteration's own pulse and read are counted among pulses and reads. */
    int64_t loop = (int64_t)c->verify_iteration_ns - c->pulse_ns - c->read_ns;
    int64_t device = (int64_t)(s->pulses * c->pulse_ns + s->reads * c->read_ns) + (int64_t)s->verify_iterations * loop;
    o[0] = 0;
    put_u64(o + 1, board->hal->micros(board->hal->context));
    put_u64(o + 9, device < 0 ? 0u : (uint64_t)device);
    put_u32(o + 17, s->frames_received); put_u32(o + 21, s->crc_errors); put_u32(o + 25, s->framing_errors);
    put_u32(o + 29, s->replays); put_u32(o + 33, s->executed);
    put_u64(o + 37, s->pulses); put_u64(o + 45, s->reads); put_u64(o + 53, s->verify_iterations);
    put_u32(o + 61, s->resets);
    return STATUS_LENGTH;
}

static void clear_cell_counters(swim_board *board)
{
    if (board->counters != NULL) {
        const swim_board_config *c = board->config;
        memset(board->counters, 0, sizeof(swim_cell_counters) * c->tiles * c->rows * c->columns);
    }
}

static void reset(swim_board *board, uint8_t flags)
{
    if (flags & 1u) {
        /* Every STATUS counter but uptime starts again, and every cell's; the RESET itself is counted in none. */
        memset(&board->stats, 0, sizeof board->stats);
        board->counters_just_cleared = 1;
        clear_cell_counters(board);
    } else {
        board->stats.resets++;
    }
}

/* One request whose layout swim_shape accepted (a BATCH's sub-request, or a whole request). */
static uint8_t run_one(swim_board *board, swim_session *session, uint8_t opcode, const uint8_t *p, uint32_t length,
                       uint8_t *out, uint32_t *out_length)
{
    *out_length = 0;
    switch (opcode) {
    case OP_IDENTIFY:
        *out_length = identify(board, out);
        return ST_OK;
    case OP_STATUS:
        *out_length = status(board, out);
        return ST_OK;
    case OP_RESET:
        reset(board, p[0]);
        return ST_OK;
    case OP_OPEN: /* belongs outside any session, where its nonce makes it safe to repeat */
        return session != NULL ? ST_MALFORMED : swim_open_session(board, p, out, out_length);
    case OP_CLOSE:
        return session == NULL ? ST_NO_SESSION : ST_OK;
    default:
        return swim_execute(board, opcode, p, length, out, out_length);
    }
}

static uint8_t run_batch(swim_board *board, swim_session *session, const uint8_t *p, uint8_t *out, uint32_t *out_length)
{
    uint32_t count = get_u16(p), at = 2, written = 2;
    put_u16(out, (uint16_t)count);
    for (uint32_t i = 0; i < count; i++) {
        uint8_t opcode = p[at];
        uint32_t length = get_u16(p + at + 1), part = 0;
        swim_request_shape shape = swim_shape(board, opcode, p + at + 3, length, 1);
        uint8_t st = shape.refusal != ST_OK ? shape.refusal
                   : shape.items > SWIM_MAX_BATCH ? ST_TOO_LARGE
                   : run_one(board, session, opcode, p + at + 3, length, out + written + 4, &part);
        out[written] = opcode;
        out[written + 1] = st;
        put_u16(out + written + 2, (uint16_t)part);
        written += 4 + part;
        at += 3 + length;
    }
    *out_length = written;
    return ST_OK;
}

/* Decodes, checks the lease and the bounds, and runs a request; its answer lands in board->response. */
static uint8_t run(swim_board *board, swim_session *session, uint8_t opcode, const uint8_t *p, uint32_t length,
                   uint32_t *out_length)
{
    uint8_t *out = board->response + SWIM_HEADER_LENGTH;
    *out_length = 0;
    swim_request_shape shape = swim_shape(board, opcode, p, length, 0);
    if (shape.refusal != ST_OK) {
        return shape.refusal;
    }
    if (shape.changes && (session == NULL || !session->holds_lease)) {
        return ST_NOT_LEASED; /* another host holds the write lease, or took it while this one was idle */
    }
    if (shape.max_response > SWIM_MAX_RESPONSE || shape.items > SWIM_MAX_BATCH) {
        return ST_TOO_LARGE; /* refused before anything runs, never run and left unanswered */
    }
    return opcode == OP_BATCH ? run_batch(board, session, p, out, out_length)
                              : run_one(board, session, opcode, p, length, out, out_length);
}

static void count_executed(swim_board *board)
{
    /* The request that cleared the counters is not counted in them: they start from zero after it. */
    if (!board->counters_just_cleared) {
        board->stats.executed++;
    }
    board->counters_just_cleared = 0;
}

/* ---- receiving -------------------------------------------------------------------------------------------- */

static void handle(swim_board *board, swim_link *link, const uint8_t *body, uint32_t length)
{
    uint16_t id = get_u16(body + 2);
    uint32_t sequence = get_u32(body + 4), answer_length = 0;
    uint8_t opcode = body[8];
    const uint8_t *payload = body + SWIM_HEADER_LENGTH;
    board->stats.frames_received++;
    if (id == 0) {
        uint8_t outside = opcode == OP_IDENTIFY || opcode == OP_STATUS || opcode == OP_OPEN
                        ? run(board, NULL, opcode, payload, length, &answer_length) : ST_NO_SESSION;
        if (outside != ST_NO_SESSION) {
            count_executed(board);
        }
        answer(board, link, body, 0, opcode, outside, answer_length);
        return;
    }
    swim_session *session = swim_find_session(board, id);
    const swim_cached *cached = NULL;
    swim_window_verdict verdict = session == NULL ? SWIM_STALE : swim_window_check(session, sequence, &cached);
    if (session == NULL || verdict == SWIM_STALE) {
        answer(board, link, body, 0, opcode, session == NULL ? ST_NO_SESSION : ST_STALE_SEQUENCE, 0);
        return;
    }
    if (verdict == SWIM_REPLAY) {
        board->stats.replays++;
        memcpy(board->response + SWIM_HEADER_LENGTH, cached->payload, cached->length);
        answer(board, link, body, FLAG_REPLAYED, cached->opcode, cached->status, cached->length);
        return;
    }
    uint8_t st = run(board, session, opcode, payload, length, &answer_length);
    if (opcode == OP_CLOSE && st == ST_OK) {
        swim_close_session(session); /* a repeat finds no session, which tells its host the same */
    } else {
        swim_remember(session, sequence, opcode, st, board->response + SWIM_HEADER_LENGTH, answer_length);
    }
    count_executed(board);
    answer(board, link, body, 0, opcode, st, answer_length);
}

static void frame_complete(swim_board *board, swim_link *link)
{
    uint32_t n = link->body_length;
    if (!link->started) {
        return; /* an empty block: skipped silently */
    }
    const uint8_t *b = link->body;
    if (link->cobs_error || link->group_left != 0 || n < 14 || n > 0xFFFFu) {
        board->stats.framing_errors++; /* no header worth trusting: nobody to answer */
        return;
    }
    uint32_t received = (uint32_t)link->tail[(n - 4) % 4] | ((uint32_t)link->tail[(n - 3) % 4] << 8) |
                        ((uint32_t)link->tail[(n - 2) % 4] << 16) | ((uint32_t)link->tail[(n - 1) % 4] << 24);
    int response_bit = (b[1] & FLAG_RESPONSE) != 0;
    if ((link->crc ^ 0xFFFFFFFFu) != received) {
        board->stats.crc_errors++;
        if (b[0] == 2 && n >= 16 && !response_bit) {
            answer(board, link, b, 0, 0, ST_BAD_CRC, 0); /* a hint: the host resends at once */
        }
        return;
    }
    if (response_bit) {
        return; /* never answer a response: on an echoing line the board would answer itself */
    }
    if (b[0] != 2) {
        board->stats.framing_errors++;
        if (b[0] == 1) {
            answer_version1(board, link, b, ST_BAD_VERSION);
        } else if (n >= 16) {
            answer(board, link, b, 0, 0, ST_BAD_VERSION, 0);
        }
        return;
    }
    uint32_t length = n - SWIM_HEADER_LENGTH - SWIM_CRC_LENGTH;
    if (n < 16 || get_u16(b + 10) != length || length > SWIM_MAX_PAYLOAD) {
        board->stats.framing_errors++;
        if (n >= 16) {
            answer(board, link, b, 0, 0, ST_BAD_LENGTH, 0);
        }
        return;
    }
    handle(board, link, b, length);
}

static void decoded(swim_link *link, uint8_t byte)
{
    uint32_t n = link->body_length;
    if (n >= 4) {
        link->crc = swim_crc32_update(link->crc, link->tail[n % 4]); /* the byte four back is not CRC */
    }
    link->tail[n % 4] = byte;
    if (n < SWIM_MAX_REQUEST_BODY) {
        link->body[n] = byte;
    }
    if (n < 0x10000u) {
        link->body_length = n + 1; /* past the protocol's largest body the frame is dropped anyway */
    }
}

void swim_board_receive(swim_board *board, swim_link *link, const uint8_t *bytes, size_t count)
{
    for (size_t i = 0; i < count; i++) {
        uint8_t byte = bytes[i];
        if (byte == 0) {
            frame_complete(board, link);
            restart(link);
        } else if (link->cobs_error || link->body_length >= 0x10000u) {
            continue; /* waiting for the delimiter */
        } else if (link->group_left == 0) {
            if (link->started && link->group_code != 0xFF) {
                decoded(link, 0);
            }
            link->started = 1;
            link->group_code = byte;
            link->group_left = (uint8_t)(byte - 1);
        } else {
            decoded(link, byte);
            link->group_left--;
        }
    }
}

void swim_board_power_cycle(swim_board *board)
{
    swim_drop_sessions(board);
    memset(&board->stats, 0, sizeof board->stats);
    board->counters_just_cleared = 0;
    clear_cell_counters(board);
}
