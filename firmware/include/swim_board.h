/* The board side of the Swim protocol, version 2 (firmware-spec/protocol.md): framing, sessions with their response
 * caches and the write lease, every command, and the board's own write-verify loop. One swim_board serves one array
 * over up to SWIM_MAX_LINKS links. Nothing here allocates; the integrator places a swim_board in static memory. */
#ifndef SWIM_BOARD_H
#define SWIM_BOARD_H

#include <stddef.h>
#include <stdint.h>

#include "swim_config.h"
#include "swim_hal.h"

#define SWIM_HEADER_LENGTH 12u
#define SWIM_CRC_LENGTH 4u
/* A body of the largest request this board keeps: header, payload, CRC. */
#define SWIM_MAX_REQUEST_BODY (SWIM_HEADER_LENGTH + SWIM_MAX_PAYLOAD + SWIM_CRC_LENGTH)
#define SWIM_MAX_RESPONSE_BODY (SWIM_HEADER_LENGTH + SWIM_MAX_RESPONSE + SWIM_CRC_LENGTH)

/* How the board's write-verify loop sizes a pulse of one polarity: a pulse of amplitude_max moves a cell about
 * full_step_microsiemens (measured by the lab in mid-window at width_ns); below threshold_volts nothing moves. */
typedef struct swim_pulse_calibration {
    float threshold_volts;
    float full_step_microsiemens;
    uint32_t width_ns;
} swim_pulse_calibration;

/* What the board is and how it programs, filled in by the integrator before swim_board_init. */
typedef struct swim_board_config {
    uint8_t firmware_major, firmware_minor, firmware_patch;
    char serial[16];          /* ASCII, zero-padded */
    char device_model[33];    /* UTF-8, at most 32 bytes, zero-terminated */
    uint16_t tiles, rows, columns, levels;
    float g_min_microsiemens, g_max_microsiemens;
    float adc_zero_microsiemens, adc_step_microsiemens; /* conductance = zero + code x step */
    float amplitude_min_volts, amplitude_max_volts;
    uint32_t width_min_ns, width_max_ns;
    uint32_t read_ns, pulse_ns, verify_iteration_ns;    /* nominal device times, also STATUS's device time */
    uint32_t lease_ms;
    uint16_t cells_per_pulse, cells_per_read;
    swim_pulse_calibration set, reset;
    uint8_t verify_samples;   /* reads averaged per verify read, 1 or more */
    uint8_t max_reversals;    /* polarity reversals before DID_NOT_CONVERGE (the spec suggests 5) */
} swim_board_config;

/* Per-cell counters for COUNTERS (capability bit 2); optional, 8 bytes a cell. */
typedef struct swim_cell_counters {
    uint32_t pulses, reads;
} swim_cell_counters;

typedef struct swim_cached {
    uint32_t sequence;
    uint16_t length;
    uint8_t used, opcode, status;
    uint8_t payload[SWIM_MAX_RESPONSE];
} swim_cached;

typedef struct swim_session {
    uint16_t id;
    uint8_t open, holds_lease, executed_any;
    uint64_t nonce;
    uint32_t newest;
    uint64_t last_active_us;
    swim_cached cache[SWIM_CACHE_DEPTH];
} swim_session;

/* One link's receiver: the COBS decoder runs byte by byte, so a frame longer than the buffer is still checked whole
 * (CRC and all) and answered BAD_LENGTH rather than dropped. */
typedef struct swim_link {
    void *context;
    /* Send bytes of a response (a whole frame per call sequence; the core calls it a few times per frame). */
    void (*write)(void *context, const uint8_t *bytes, size_t count);
    /* Optional: a response frame is complete in the link's queue (an SPI board raises READY here). */
    void (*frame_queued)(void *context);
    uint32_t body_length;     /* bytes decoded so far, counted past the buffer */
    uint8_t group_left, group_code, started, cobs_error;
    uint8_t tail[4];          /* the last four bytes decoded: the CRC, once the delimiter comes */
    uint32_t crc;             /* running CRC of the bytes before the tail */
    uint8_t body[SWIM_MAX_REQUEST_BODY];
} swim_link;

typedef struct swim_board_stats {
    uint32_t frames_received, crc_errors, framing_errors, replays, executed, resets;
    uint64_t pulses, reads, verify_iterations;
} swim_board_stats;

typedef struct swim_board {
    const swim_board_config *config;
    const swim_hal *hal;
    swim_cell_counters *counters; /* NULL: no COUNTERS */
    swim_board_stats stats;
    uint8_t counters_just_cleared;
    uint16_t next_session_id;
    swim_session sessions[SWIM_MAX_SESSIONS];
    uint8_t response[SWIM_MAX_RESPONSE_BODY];
    uint16_t row_codes[SWIM_MAX_BATCH];  /* one row read of a rectangle (a rectangle has at most max_batch cells) */
    uint32_t row_sums[SWIM_MAX_BATCH];   /* its samples summed per cell */
} swim_board;

/* Checks the configuration against the protocol's rules; 0 when it is usable, else a negative number naming the
 * first problem (see swim_config_problem). `id_seed` starts session ids somewhere unpredictable (section 3.1). */
int swim_board_init(swim_board *board, const swim_board_config *config, const swim_hal *hal,
                    swim_cell_counters *counters, uint16_t id_seed);
const char *swim_config_problem(int code);

void swim_link_init(swim_link *link, void *context, void (*write)(void *, const uint8_t *, size_t),
                    void (*frame_queued)(void *));

/* Feed bytes received on a link; requests are executed and answered on that link as their delimiters arrive. */
void swim_board_receive(swim_board *board, swim_link *link, const uint8_t *bytes, size_t count);

/* A power loss as the spec defines it: every session and counter gone (conductances stay). */
void swim_board_power_cycle(swim_board *board);

#endif
