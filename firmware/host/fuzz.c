/* swim-fuzz: feeds the core N fuzzed frames in process (built with AddressSanitizer and UBSan) and checks every
 * answer against the protocol: each is a well-formed response frame, at most one per frame sent, and no request
 * number of a session is executed twice or replayed with an answer other than its first. Requests are drawn from
 * every opcode with random fields, sent within and around the window (repeats, stale and overtaken numbers), and
 * a share of them damaged: bits flipped before or after the CRC, cut short, lengthened, or replaced by noise. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim_array.h"
#include "swim_internal.h"

static uint64_t s_random;
static uint32_t rnd(void)
{
    s_random ^= s_random << 13; s_random ^= s_random >> 7; s_random ^= s_random << 17;
    return (uint32_t)(s_random >> 16);
}
static uint32_t below(uint32_t n) { return n == 0 ? 0 : rnd() % n; }

/* ---- the capture link: every byte the board sends ---- */
static uint8_t s_out[1 << 20];
static size_t s_out_length;
static void capture(void *context, const uint8_t *bytes, size_t count)
{
    (void)context;
    if (s_out_length + count <= sizeof s_out) {
        memcpy(s_out + s_out_length, bytes, count);
    }
    s_out_length += count;
}

/* ---- what was executed: (session, number) -> a hash of its first answer ---- */
#define TABLE_BITS 22
static uint64_t s_keys[1u << TABLE_BITS];
static uint32_t s_values[1u << TABLE_BITS];
static uint32_t *slot_of(uint64_t key, int insert)
{
    for (uint32_t i = (uint32_t)((key * 0x9E3779B97F4A7C15ull) >> (64 - TABLE_BITS));; i = (i + 1) & ((1u << TABLE_BITS) - 1)) {
        if (s_keys[i] == key + 1) return &s_values[i];
        if (s_keys[i] == 0) {
            if (!insert) return NULL;
            s_keys[i] = key + 1;
            return &s_values[i];
        }
    }
}

static unsigned long s_violations, s_executed, s_replayed, s_answers, s_silent;
static void violation(const char *what, unsigned long frame)
{
    if (s_violations++ < 10) fprintf(stderr, "frame %lu: %s\n", frame, what);
}

/* ---- building requests ---- */
static size_t put_cell(uint8_t *p, int valid)
{
    put_u16(p, (uint16_t)(valid ? below(2) : below(4)));
    put_u16(p + 2, (uint16_t)(valid ? below(64) : below(80)));
    put_u16(p + 4, (uint16_t)(valid ? below(64) : below(80)));
    return 6;
}

static size_t random_payload(uint8_t opcode, uint8_t *p, int depth)
{
    int valid = below(8) != 0;
    uint32_t n = below(valid ? 12 : 300), at = 2;
    switch (opcode) {
    case OP_RESET: p[0] = (uint8_t)below(2); return 1;
    case OP_READ:
        p[0] = (uint8_t)below(valid ? 2 : 3); p[1] = (uint8_t)below(4);
        if (p[0] == 1) { put_cell(p + 2, valid); put_u16(p + 8, (uint16_t)below(5)); put_u16(p + 10, (uint16_t)below(70)); return 12; }
        put_u16(p + 2, (uint16_t)n);
        for (uint32_t i = 0; i < n; i++) at += (uint32_t)put_cell(p + 2 + at, valid);
        return 2 + at;
    case OP_WRITE_PULSE: case OP_PROGRAM: case OP_PROGRAM_VERIFY: {
        uint32_t size = opcode == OP_WRITE_PULSE ? 15 : opcode == OP_PROGRAM ? 11 : 16;
        put_u16(p, (uint16_t)n);
        for (uint32_t i = 0; i < n; i++, at += size) {
            put_cell(p + at, valid);
            p[at + 6] = (uint8_t)below(valid ? 2 : 3);
            float value = opcode == OP_WRITE_PULSE ? 0.2f + (float)below(40) * 0.1f : (float)below(110);
            if (opcode == OP_PROGRAM && p[at + 6] == 0) value = (float)below(5);
            if (opcode == OP_PROGRAM_VERIFY) { put_f32(p + at + 6, value); put_f32(p + at + 10, (float)below(3)); put_u16(p + at + 14, (uint16_t)below(30)); }
            else if (opcode == OP_WRITE_PULSE) { put_f32(p + at + 7, value); put_u32(p + at + 11, below(200)); }
            else put_f32(p + at + 7, value);
        }
        return at;
    }
    case OP_COUNTERS:
        put_u16(p, (uint16_t)n);
        for (uint32_t i = 0; i < n; i++) at += (uint32_t)put_cell(p + at, valid);
        return at;
    case OP_PROGRAM_LEVELS: case OP_VERIFY_LEVELS: {
        uint32_t rows = below(4), columns = below(20), bits = valid ? 2 : below(18), cells = rows * columns, head = opcode == OP_PROGRAM_LEVELS ? 11 : 17;
        put_cell(p, valid); put_u16(p + 6, (uint16_t)rows); put_u16(p + 8, (uint16_t)columns); p[10] = (uint8_t)bits;
        if (opcode == OP_VERIFY_LEVELS) { put_f32(p + 11, (float)below(3)); put_u16(p + 15, (uint16_t)below(20)); }
        uint32_t selected = cells, body = 0;
        if (opcode == OP_VERIFY_LEVELS) {
            selected = 0;
            for (uint32_t i = 0; i < (cells + 7) / 8; i++) p[head + i] = 0;
            for (uint32_t i = 0; i < cells; i++) if (below(3) == 0) { p[head + i / 8] |= (uint8_t)(1u << (i % 8)); selected++; }
            body = (cells + 7) / 8;
        }
        uint32_t level_bytes = (selected * bits + 7) / 8;
        for (uint32_t i = 0; i < level_bytes; i++) p[head + body + i] = (uint8_t)rnd();
        if (valid && selected * bits % 8 != 0) p[head + body + level_bytes - 1] &= (uint8_t)((1u << (selected * bits % 8)) - 1);
        return head + body + level_bytes;
    }
    case OP_READ_CODES:
        put_cell(p, valid); put_u16(p + 6, (uint16_t)below(4)); put_u16(p + 8, (uint16_t)below(70));
        p[10] = (uint8_t)below(3); p[11] = valid ? (below(2) ? 8 : 16) : (uint8_t)below(20);
        return 12;
    case OP_BATCH: {
        uint32_t parts = below(6);
        put_u16(p, (uint16_t)parts);
        for (uint32_t i = 0; i < parts; i++) {
            uint8_t sub = (uint8_t)(1 + below(depth > 0 ? 12 : 15));
            size_t length = random_payload(sub, p + at + 3, depth + 1);
            p[at] = sub; put_u16(p + at + 1, (uint16_t)length);
            at += 3 + (uint32_t)length;
        }
        return at;
    }
    case OP_OPEN:
        put_u64(p, 1000u + below(8)); p[8] = (uint8_t)below(valid ? 2 : 4); put_u16(p + 9, 0);
        return 11;
    default:
        for (uint32_t i = 0; i < n % 16; i++) p[i] = (uint8_t)rnd();
        return n % 16;
    }
}

static size_t frame(uint8_t *body, uint16_t session, uint32_t sequence, uint8_t opcode, const uint8_t *payload, size_t length)
{
    body[0] = 2; body[1] = 0; put_u16(body + 2, session); put_u32(body + 4, sequence);
    body[8] = opcode; body[9] = 0; put_u16(body + 10, (uint16_t)length);
    memcpy(body + 12, payload, length);
    put_u32(body + 12 + length, swim_crc32(body, 12 + length));
    return 16 + length;
}

static size_t cobs(const uint8_t *in, size_t length, uint8_t *out)
{
    size_t o = 0, i = 0;
    for (;;) {
        size_t j = i;
        while (j < length && in[j] != 0 && j - i < 254) j++;
        out[o++] = (uint8_t)(j - i + 1);
        memcpy(out + o, in + i, j - i); o += j - i;
        if (j - i == 254) { i = j; if (i == length) break; continue; }
        if (j == length) break;
        i = j + 1;
    }
    out[o++] = 0;
    return o;
}

/* ---- checking answers ---- */
static int uncobs(const uint8_t *in, size_t length, uint8_t *out, size_t *out_length)
{
    size_t o = 0, i = 0;
    while (i < length) {
        uint8_t code = in[i++];
        if (code == 0 || i + code - 1 > length) return 0;
        for (uint8_t k = 1; k < code; k++) { if (in[i] == 0) return 0; out[o++] = in[i++]; }
        if (code != 0xFF && i < length) out[o++] = 0;
    }
    *out_length = o;
    return 1;
}

static uint32_t hash(const uint8_t *p, size_t n)
{
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < n; i++) h = (h ^ p[i]) * 16777619u;
    return h;
}

/* Every frame the board sent for one frame in: well formed, at most one per block (noise may split a frame in two),
 * and exactly-once per session number. */
static void check_answers(unsigned long index, size_t blocks, uint16_t *write_session, uint16_t *read_session)
{
    static uint8_t body[1 << 17];
    size_t start = 0, answers = 0;
    for (size_t i = 0; i < s_out_length && i < sizeof s_out; i++) {
        if (s_out[i] != 0) continue;
        size_t n;
        answers++;
        if (!uncobs(s_out + start, i - start, body, &n) || n < 14 || swim_crc32(body, n - 4) != get_u32(body + n - 4)) {
            violation("an answer that is not a valid frame", index);
        } else if (body[0] == 2) {
            uint16_t session = get_u16(body + 2);
            uint32_t sequence = get_u32(body + 4);
            uint8_t status = body[9];
            if ((body[1] & FLAG_RESPONSE) == 0 || get_u16(body + 10) != n - 16) violation("an answer without the RESPONSE bit or with a wrong length", index);
            if (body[8] == OP_OPEN && status == ST_OK && session == 0) {
                if (body[12 + 2]) *write_session = get_u16(body + 12); else *read_session = get_u16(body + 12);
            }
            int framing = status == ST_BAD_CRC || status == ST_BAD_LENGTH || status == ST_BAD_VERSION;
            if (session != 0 && !framing && status != ST_STALE_SEQUENCE && status != ST_NO_SESSION && body[8] != OP_CLOSE) {
                uint64_t key = (uint64_t)session << 32 | sequence;
                uint32_t h = hash(body + 8, n - 12) | 1u; /* opcode, status, length and payload; never 0 */
                uint32_t *seen = slot_of(key, !(body[1] & FLAG_REPLAYED));
                if (body[1] & FLAG_REPLAYED) {
                    s_replayed++;
                    if (seen == NULL) violation("a replay of a number never executed", index);
                    else if (*seen != h) violation("a replay whose answer differs from the first", index);
                } else {
                    s_executed++;
                    if (*seen != 0) violation("a session's number executed twice", index);
                    *seen = h;
                }
            }
        }
        start = i + 1;
    }
    if (answers > blocks) violation("more answers than blocks sent", index);
    s_answers += answers;
    s_silent += answers == 0;
    s_out_length = 0;
}

int main(int argc, char **argv)
{
    unsigned long frames = argc > 1 ? strtoul(argv[1], NULL, 10) : 1000000ul;
    s_random = argc > 2 ? strtoull(argv[2], NULL, 10) * 2654435761u + 1 : 88172645463325252ull;
    static sim_array array;
    static swim_board_config config;
    static swim_hal hal;
    static swim_board board;
    static swim_link link;
    static swim_cell_counters counters[2 * 64 * 64];
    sim_array_init(&array, 2, 64, 64, 7);
    sim_array_config(&array, &config, 7);
    sim_array_hal(&array, &hal, 1);
    config.cells_per_read = 64;
    if (swim_board_init(&board, &config, &hal, counters, 4242) != 0) return 2;
    swim_link_init(&link, NULL, capture, NULL);
    static uint8_t payload[1 << 18], body[(1 << 18) + 16], wire[(1 << 18) + 2048];
    uint16_t write_session = 0, read_session = 0;
    uint32_t next[2] = {1, 1};
    for (unsigned long f = 0; f < frames; f++) {
        uint32_t kind = below(100);
        int writer = below(3) != 0;
        uint16_t session = writer ? write_session : read_session;
        uint8_t opcode = (uint8_t)(1 + below(15));
        if (kind < 3 || session == 0) {
            /* OPEN, as the writer or a reader; a nonce of a few so that OPEN repeats and resumes happen */
            uint8_t open[11];
            put_u64(open, writer ? 7 : 9 + below(3)); open[8] = (uint8_t)writer; put_u16(open + 9, 0);
            size_t n = frame(body, 0, rnd(), OP_OPEN, open, 11);
            swim_board_receive(&board, &link, wire, cobs(body, n, wire));
            check_answers(f, 1, &write_session, &read_session);
            continue;
        }
        if (opcode == OP_CLOSE && below(20) != 0) opcode = OP_STATUS; /* a close now and then, not every fifteenth */
        if (opcode == OP_OPEN) session = 0;
        size_t length = random_payload(opcode, payload, 0);
        if (length > 65519) continue; /* past what one frame can carry */
        uint32_t *series = &next[writer ? 0 : 1], sequence;
        uint32_t pick = below(100);
        sequence = pick < 70 ? (*series)++ : pick < 85 ? *series - 1 - below(8) : pick < 92 ? *series - below(300) : *series + below(100);
        if (below(50) == 0) session = (uint16_t)rnd(); /* a session the board does not hold, or 0 */
        size_t n = frame(body, session, sequence, opcode, payload, length);
        uint32_t damage = below(100);
        if (damage < 5) body[below((uint32_t)n)] ^= (uint8_t)(1u << below(8));                 /* after the CRC */
        else if (damage < 9) {
            /* A header byte changed and the CRC made good: version, flags, opcode, status or length. Not the session
             * or the number: a host that numbers 2^31 past its own requests breaks section 3.2 and is owed nothing. */
            static const uint8_t fields[] = {0, 1, 8, 9, 10, 11};
            body[fields[below(6)]] = (uint8_t)rnd();
            put_u32(body + n - 4, swim_crc32(body, n - 4));
        }
        else if (damage < 11 && n > 20) n -= below(8);                                       /* cut short */
        size_t w = cobs(body, n, wire);
        if (damage >= 11 && damage < 13) for (size_t i = 0; i + 1 < w; i++) if (below(20) == 0) wire[i] = (uint8_t)rnd(); /* noise */
        if (damage == 13) { w = below(60); for (size_t i = 0; i < w; i++) wire[i] = (uint8_t)rnd(); wire[w++] = 0; }
        swim_board_receive(&board, &link, wire, w);
        size_t blocks = 0;
        for (size_t i = 0; i < w; i++) blocks += wire[i] == 0;
        check_answers(f, blocks, &write_session, &read_session);
        if (below(200000) == 0) swim_board_power_cycle(&board), write_session = read_session = 0;
    }
    printf("%lu frames: %lu answers, %lu silent, %lu executed in sessions, %lu replayed, %lu violations\n",
           frames, s_answers, s_silent, s_executed, s_replayed, s_violations);
    sim_array_free(&array);
    return s_violations == 0 ? 0 : 1;
}
