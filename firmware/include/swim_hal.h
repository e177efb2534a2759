/* The hardware layer a lab implements to put the Swim protocol on its board: the array's pulse and read
 * operations and a microsecond clock. The link is separate (swim_link in swim_board.h): the board's main loop feeds
 * received bytes to the core, and the core hands whole response frames to the link's write function. */
#ifndef SWIM_HAL_H
#define SWIM_HAL_H

#include <stdint.h>

typedef struct swim_cell {
    uint16_t tile, row, column;
} swim_cell;

enum swim_polarity { SWIM_SET = 0, SWIM_RESET = 1 };

typedef struct swim_hal {
    void *context;
    /* Apply one pulse to one cell: SET raises the conductance, RESET lowers it. The core has already checked the
     * amplitude (volts) and width (ns) against the safe operating area in its configuration. */
    void (*pulse)(void *context, swim_cell cell, uint8_t polarity, float amplitude_volts, uint32_t width_ns);
    /* One read of one cell as an ADC code; the core turns codes into conductances with the configuration's
     * adc_zero_microsiemens and adc_step_microsiemens, and averages samples itself. */
    uint16_t (*read)(void *context, swim_cell cell);
    /* Optional (NULL to read cell by cell): one read of `count` cells of a row from `first`, into codes[0..count).
     * A row-parallel ADC implements it and states cells_per_read in the configuration. */
    void (*read_row)(void *context, swim_cell first, uint16_t count, uint16_t *codes);
    /* Optional (NULL if unused): called before the core programs a cell open loop (opcode 0x05, for PROGRAM and
     * PROGRAM_LEVELS) or runs its write-verify loop on it (0x06, for PROGRAM_VERIFY and VERIFY_LEVELS), so a board
     * can set up the cell's bias for the operation or keep each cell's programming history. */
    void (*begin_cell)(void *context, swim_cell cell, uint8_t opcode);
    /* Microseconds since power-up, monotonic; wraps only after 2^64. */
    uint64_t (*micros)(void *context);
} swim_hal;

#endif
